"""Interface names of the domain's codes (statuses, actions, events, categories), as gettext msgids.

Templates show them with `_(status_labels[status])`; the N_ marks put them in the catalogues when
extracting (`pybabel extract -k N_`). One table per kind of code, so a page looks each name up once
instead of building a table per call.
"""

from __future__ import annotations

from domain.errors import N_
from tracker.commands import COMMANDS

STATUS_LABELS = {
    "proposed": N_("proposed"),
    "agreed": N_("agreed"),
    "in_progress": N_("in progress"),
    "completed": N_("completed"),
    "verified": N_("verified"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
    "cancelled": N_("cancelled"),
    "open": N_("open"),
    "resolved": N_("resolved"),
    "closed": N_("closed"),
}

# A command's button and confirmation come with it, from the catalogue (by `Command.key()`).
ACTION_LABELS = {cls.key(): cls.label for cls in COMMANDS}
DONE_MESSAGES = {cls.key(): cls.done for cls in COMMANDS}

EVENT_LABELS = {
    "Proposed": N_("proposed the commitment"),
    "Amended": N_("amended the wording"),
    "Endorsed": N_("endorsed"),
    "Agreed": N_("agreed it"),
    "Rejected": N_("rejected it"),
    "Withdrawn": N_("withdrew it"),
    "Assigned": N_("assigned it"),
    "ProgressReported": N_("reported progress"),
    "MilestoneAdded": N_("added a milestone"),
    "MilestoneCompleted": N_("completed a milestone"),
    "EvidenceAttached": N_("attached evidence"),
    "Completed": N_("completed it"),
    "Verified": N_("verified the completion"),
    "Disputed": N_("disputed the completion"),
    "Cancelled": N_("cancelled it"),
    "Reopened": N_("reopened it"),
    "VisibilityChanged": N_("changed who can see it"),
    "Raised": N_("raised the case"),
    "Resolved": N_("resolved the case"),
    "Closed": N_("closed the case"),
    "CommitmentLinked": N_("linked a commitment"),
    "LinkedToCase": N_("linked it to a case"),
    # and those the catalogue's commands name themselves
    **{event: label for cls in COMMANDS for event, label in cls.event_labels.items()},
}

# The columns of a table of decisions (tracker/sheets.py) and what a row does.
COLUMN_LABELS = {
    "ref": N_("Reference"),
    "title": N_("Title"),
    "description": N_("Description"),
    "required_parties": N_("Parties that must endorse"),
    "responsible_party": N_("Responsible party"),
    "due_date": N_("Due date"),
    "progress": N_("Progress (0 to 100 %%)"),
    "public": N_("Public"),
}
OUTCOME_LABELS = {"create": N_("new commitment"), "update": N_("changes"),
                  "unchanged": N_("nothing to change")}

CATEGORY_LABELS = {
    "theft_burglary": N_("theft and burglary"),
    "violence": N_("violence"),
    "smuggling": N_("smuggling"),
    "drugs": N_("drugs"),
    "public_order": N_("public order"),
    "police_community_relations": N_("police and community relations"),
    "land_property": N_("land and property"),
    "other": N_("other"),
}

PARTY_KIND_LABELS = {
    "police": N_("police"),
    "gendarmerie": N_("gendarmerie"),
    "justice": N_("justice"),
    "local_government": N_("local government"),
    "community": N_("community association"),
    "vigilante": N_("vigilante group"),
    "religious": N_("religious leaders"),
    "youth": N_("youth"),
    "women": N_("women's group"),
    "other": N_("other"),
}

ROLE_LABELS = {"member": N_("member"), "auditor": N_("auditor"), "admin": N_("administrator")}

# A record's fields as people name them (states, histories and differences on the auditor's pages,
# changes on the public ones), by the attribute's name.
FIELD_LABELS = {
    "id": N_("Identifier"), "version": N_("Version"), "title": N_("Title"),
    "description": N_("Description"), "status": N_("Status"), "dialogue_id": N_("Dialogue"),
    "case_id": N_("Case"), "proposed_by": N_("Proposed by"),
    "required_parties": N_("Parties that must endorse"), "endorsements": N_("Endorsed by"),
    "responsible_party": N_("Responsible party"), "due_date": N_("Due date"),
    "progress": N_("Progress"), "milestones": N_("Milestones"), "evidence": N_("Evidence"),
    "completed_on": N_("Completed on"), "completed_by": N_("Completed by"),
    "completion_summary": N_("Completion summary"), "verified_by": N_("Verified by"),
    "public": N_("Public"), "private_note": N_("Private note"), "category": N_("Category"),
    "raised_by": N_("Raised by"), "resolution": N_("Resolution"),
    "commitment_ids": N_("Linked commitments"), "name": N_("Name"),
    "slug": N_("Short name in addresses"), "country": N_("Country"), "locality": N_("Locality"),
    "started_on": N_("Started on"), "concluded": N_("Concluded"), "meetings": N_("Meetings"),
    "parties": N_("Parties"), "kind": N_("Kind"), "active": N_("Active"), "role": N_("Role"),
    "language": N_("Language"), "email": N_("Email address"), "memberships": N_("Member of"),
    "second_factor": N_("Second factor"), "revoked": N_("Revoked"), "label": N_("Label"),
    "account_id": N_("Account"), "member": N_("Member"), "held_on": N_("Held on"),
    "attendance": N_("Attendance"), "place": N_("Place"), "summary": N_("Summary"),
    "url": N_("Link"), "sha256": N_("SHA-256 of the file"), "party_id": N_("Party"),
    "reason": N_("Reason"), "note": N_("Note"), "proposed_on": N_("Proposed on"),
    "raised_on": N_("Raised on"), "added_on": N_("Added on"), "mail": N_("Mail"),
    "watching": N_("Watching"),
}
# How an account's notifications reach its address (domain.account.MAIL_MODES).
MAIL_MODE_LABELS = {"immediate": N_("at once"), "digest": N_("a daily digest"), "off": N_("none")}
YES_NO = (N_("no"), N_("yes"))

DONE = N_("Done.")


# Sentences of the domain and the web layer that pages show as they are (templates translate them
# with `_(message)`); listed so that extraction puts them in the catalogues. Messages built with
# values (a version number, a status) are shown in English.
SHOWN_MESSAGES = (
    N_("this form has expired or did not come from this site; reload the page and try again"),
    N_("reason is required"),
    N_("summary is required"),
    N_("title is required"),
    N_("description is required"),
    N_("due date is required"),
    N_("held on is required"),
    N_("commitment id is required"),
    N_("percent is required"),
    N_("milestone id is required"),
    N_("name at least one party that must endorse"),
    N_("an amendment must change the title or the description"),
    N_("this party has already endorsed the commitment"),
    N_("this party is not one of those asked to endorse"),
    N_("a completion must be verified by another party than the one that completed it"),
    N_("only the responsible party can say the commitment is done"),
    N_("this milestone is already completed"),
    N_("an evidence link must be a full http:// or https:// address"),
    N_("a file digest must be 64 hexadecimal characters (SHA-256)"),
    N_("a password has at least 8 characters"),
    N_("choose a dialogue and a party"),
    N_("this dialogue has concluded; reopen it first"),
    N_("the case belongs to another dialogue"),
    N_("the commitment belongs to another dialogue"),
    N_("this commitment is already linked to the case"),
    N_("this commitment is already linked to another case"),
    N_("this dialogue has no such party"),
    N_("a language is one of: fr, en, ar"),
    # messages made with values: `web.i18n.translate_message` finds them by these patterns
    N_("no dialogue is called {name}"),
    N_("no public dialogue is called {name}"),
    N_("no commitment has the id {id}"),
    N_("no case has the id {id}"),
    N_("no record has the id {id}"),
    N_("no dialogue has the id {id}"),
    N_("no account is called {name}"),
    N_("nothing is recorded under the id {id}"),
    N_("nothing was recorded for this record by then"),
    N_("this dialogue already has a party named {name}"),
    N_("this dialogue has no party {name}"),
    N_("this dialogue has no party called or with the id {name}"),
    N_("a role is one of: {choices}"),
    N_("a party's kind is one of: {choices}"),
    N_("a case's category is one of: {choices}"),
    N_("a status is one of: {choices}"),
    N_("the account is already {role}"),
    N_("{field} is required"),
    N_("{field} is longer than {limit} characters"),
    N_("{field} contains a NUL character"),
    N_("{field} is not valid Unicode text"),
    N_("{field} must be a date like 2026-03-01"),
    N_("commitments have no action {action}"),
    N_("cases have no action {action}"),
    N_("accounts have no action {action}"),
    N_("too many people are changing this {what} at once; try again"),
    N_("ask for one point in time, not {points}"),
    N_("give one point for {side}: a version, a time or a date"),
    N_("{side}: {text} is not a whole number from 1"),
    N_("{side}: {text} is not a time like 2026-03-01T14:30"),
    N_("{side}: {text} is not a date like 2026-03-01"),
    N_("this account has no token {token}"),
    N_("only {allowed} commitment can {action}; this one is {state}"),  # domain.lifecycle
    N_("or"),
    N_("unknown action {action}"),
    N_("{method} is not allowed here; use {allowed}"),
    N_("the request was refused"),
    N_("the request body is not valid JSON"),
    N_("the checkpoint is not JSON"),
    N_("the checkpoint is not a JSON object"),
    N_("a meeting happened on the day it was held"),
    N_("the current password is not right"),
    N_("the two new passwords differ"),
    N_("a password has at most 1000 characters"),
    N_("this code is not right"),
    N_("this code was already used; wait for the next one"),
    N_("this code does not match; check the time on your phone and type the code it shows now"),
    N_("the password is not right"),
    N_("this account is already deactivated"),
    N_("this account is already active"),
    N_("this account has no active token"),
    N_("this account has no second factor"),
    N_("you cannot deactivate your own account"),
    N_("an email address looks like name@example.org"),
    N_("this account does not belong to that dialogue"),
)
