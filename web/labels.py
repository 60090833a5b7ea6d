"""Interface names of the domain's codes (statuses, actions, events, categories), as gettext msgids.

Templates show them with `_(status_labels[status])`; the N_ marks put them in the catalogues when
extracting (`pybabel extract -k N_`). One table per kind of code, so a page looks each name up once
instead of building a table per call.
"""

from __future__ import annotations

from web.i18n import N_

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

ACTION_LABELS = {
    "amend": N_("Amend"),
    "endorse": N_("Endorse"),
    "agree": N_("Agree (adopt)"),
    "reject": N_("Reject"),
    "withdraw": N_("Withdraw"),
    "assign": N_("Assign"),
    "progress": N_("Report progress"),
    "add-milestone": N_("Add a milestone"),
    "complete-milestone": N_("Complete a milestone"),
    "attach-evidence": N_("Attach evidence"),
    "complete": N_("Complete"),
    "verify": N_("Verify"),
    "dispute": N_("Dispute"),
    "cancel": N_("Cancel"),
    "reopen": N_("Reopen"),
    "resolve": N_("Resolve"),
    "close": N_("Close"),
    "link": N_("Link a commitment"),
}

DONE_MESSAGES = {
    "amend": N_("The commitment was amended."),
    "endorse": N_("Your endorsement was recorded."),
    "agree": N_("The commitment was agreed."),
    "reject": N_("The commitment was rejected."),
    "withdraw": N_("The commitment was withdrawn."),
    "assign": N_("The commitment was assigned."),
    "progress": N_("Progress was reported."),
    "add-milestone": N_("The milestone was added."),
    "complete-milestone": N_("The milestone was completed."),
    "attach-evidence": N_("The evidence was attached."),
    "complete": N_("The commitment was completed."),
    "verify": N_("The completion was verified."),
    "dispute": N_("The completion was disputed."),
    "cancel": N_("The commitment was cancelled."),
    "reopen": N_("The commitment was reopened."),
    "resolve": N_("The case was resolved."),
    "close": N_("The case was closed."),
    "link": N_("The commitment was linked to the case."),
}

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
}

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

DONE = N_("Done.")
