"""Demo data: four dialogues with parties, meetings, cases and commitments at every stage.

The stories follow the public record of community justice and security dialogues (Saaba in Burkina
Faso, a district of Dakar, a neighbourhood of Jos, Nepal in 2007); every sentence here is written for
this demo and every person is a placeholder. Each action is taken through the application service by
a demo account acting for the right party, on a business date (`occurred_on`) spread over the months
the dialogue ran, so timelines, overdue flags and "as of" views have something to show.

Loading is idempotent: a dialogue whose slug exists is skipped, so a second run adds nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.errors import NotFound
from tracker.application import SYSTEM, Principal, Tracker

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo password, printed by `tracker demo`
ADMIN = "demo-admin"
AUDITOR = "demo-auditor"


@dataclass(frozen=True)
class Step:
    """One action on a case or commitment: on a date, by a member of a party (its key)."""

    on: str
    by: str
    action: str
    fields: dict[str, Any] = field(default_factory=dict)
    note: str | None = None


@dataclass(frozen=True)
class CaseSpec:
    key: str
    title: str
    category: str
    by: str
    on: str
    description: str = ""
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class CommitmentSpec:
    key: str
    title: str
    by: str
    required: tuple[str, ...]
    on: str
    case: str | None = None
    description: str = ""
    public: bool = True
    private_note: str = ""
    note: str | None = None
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class MeetingSpec:
    on: str
    title: str
    attendance: dict[str, int]
    summary: str = ""
    note: str | None = None


@dataclass(frozen=True)
class DialogueSpec:
    slug: str
    name: str
    country: str
    locality: str
    description: str
    started_on: str
    parties: dict[str, tuple[str, str]]  # key -> (name, kind)
    secretary: str  # the party whose member records the meetings
    meetings: tuple[MeetingSpec, ...] = ()
    cases: tuple[CaseSpec, ...] = ()
    commitments: tuple[CommitmentSpec, ...] = ()

    def account(self, party_key: str) -> str:
        return f"demo-{self.slug}-{party_key}"


def digest(text: str) -> str:
    """A stand-in SHA-256 for a document the demo only describes."""
    return hashlib.sha256(text.encode()).hexdigest()


def demo_accounts() -> list[tuple[str, str, str]]:
    """(account name, role, what it acts for) for every demo account: what `tracker demo` prints."""
    rows = [(ADMIN, "admin", "every dialogue"), (AUDITOR, "auditor", "reads everything")]
    for spec in demo_dialogues():
        rows += [(spec.account(key), "member", f"{spec.slug}: {name}")
                 for key, (name, _kind) in spec.parties.items()]
    return rows


# --- loading ------------------------------------------------------------------------------------


def load_demo(app: Tracker) -> int:
    """Load every demo dialogue that is not in the store yet; return how many were added."""
    admin = _ensure_account(app, SYSTEM, ADMIN, "admin")
    _ensure_account(app, admin, AUDITOR, "auditor")
    added = 0
    for spec in demo_dialogues():
        try:
            app.dialogue_by_slug(spec.slug)
            continue
        except NotFound:
            pass
        _DialogueLoader(app, admin, spec).load()
        added += 1
    return added


def store_is_empty(app: Tracker) -> bool:
    return not app.recorder.max_notification_id()


def _ensure_account(app: Tracker, admin: Principal, name: str, role: str) -> Principal:
    try:
        account = app.account_by_name(name)
    except NotFound:
        app.add_account(admin, name=name, role=role, password=DEMO_PASSWORD,
                        note="demo account with the documented demo password")
        account = app.account_by_name(name)
    return app.principal_of(account)


class _DialogueLoader:
    """Plays one dialogue's story through the application service, in business-date order."""

    def __init__(self, app: Tracker, admin: Principal, spec: DialogueSpec) -> None:
        self.app, self.admin, self.spec = app, admin, spec
        self.parties: dict[str, str] = {}
        self.members: dict[str, Principal] = {}
        self.cases: dict[str, str] = {}
        self.commitments: dict[str, str] = {}
        self.milestones: dict[tuple[str, str], str] = {}

    def load(self) -> None:
        spec, app = self.spec, self.app
        started = date.fromisoformat(spec.started_on)
        app.create_dialogue(self.admin, slug=spec.slug, name=spec.name, country=spec.country,
                            locality=spec.locality, description=spec.description,
                            occurred_on=started)
        for key, (name, kind) in spec.parties.items():
            result = app.add_party(self.admin, spec.slug, name=name, kind=kind, occurred_on=started)
            self.parties[key] = result.extra["party_id"]
            account = spec.account(key)
            _ensure_account(app, self.admin, account, "member")
            app.grant_membership(self.admin, account, slug=spec.slug, party=self.parties[key])
            self.members[key] = app.principal_of(app.account_by_name(account))
        for _, _, run in sorted(self._timeline(), key=lambda item: (item[0], item[1])):
            run()

    def _timeline(self) -> list[tuple[date, int, Callable[[], object]]]:
        """Every meeting, case and commitment action, to be played in date order (stable)."""
        items: list[tuple[str, Callable[[], object]]] = []
        for meeting in self.spec.meetings:
            items.append((meeting.on, lambda m=meeting: self._meeting(m)))
        for case in self.spec.cases:
            items.append((case.on, lambda c=case: self._raise_case(c)))
        for commitment in self.spec.commitments:
            items.append((commitment.on, lambda c=commitment: self._propose(c)))
            items += [(step.on, lambda c=commitment, s=step: self._commitment_step(c.key, s))
                      for step in commitment.steps]
        for case in self.spec.cases:
            items += [(step.on, lambda c=case, s=step: self._case_step(c.key, s))
                      for step in case.steps]
        return [(date.fromisoformat(on), index, run) for index, (on, run) in enumerate(items)]

    def _meeting(self, meeting: MeetingSpec) -> None:
        self.app.record_meeting(
            self.members[self.spec.secretary], self.spec.slug, held_on=date.fromisoformat(meeting.on),
            title=meeting.title, summary=meeting.summary, note=meeting.note,
            attendance={self.parties[key]: count for key, count in meeting.attendance.items()})

    def _raise_case(self, case: CaseSpec) -> None:
        result = self.app.raise_case(
            self.members[case.by], self.spec.slug, title=case.title, category=case.category,
            description=case.description, occurred_on=date.fromisoformat(case.on))
        self.cases[case.key] = result.id

    def _case_step(self, key: str, step: Step) -> None:
        self.app.case_action(self.members[step.by], self.cases[key], step.action, step.fields,
                             occurred_on=date.fromisoformat(step.on), note=step.note)

    def _propose(self, commitment: CommitmentSpec) -> None:
        result = self.app.propose_commitment(
            self.members[commitment.by], self.spec.slug, title=commitment.title,
            description=commitment.description,
            required_parties=[self.parties[key] for key in commitment.required],
            case_id=self.cases[commitment.case] if commitment.case else None,
            public=commitment.public, private_note=commitment.private_note,
            occurred_on=date.fromisoformat(commitment.on), note=commitment.note)
        self.commitments[commitment.key] = result.id

    def _commitment_step(self, key: str, step: Step) -> None:
        fields = dict(step.fields)
        if "party_id" in fields:
            fields["party_id"] = self.parties[fields["party_id"]]
        if "due_date" in fields:
            fields["due_date"] = date.fromisoformat(fields["due_date"])
        if step.action == "complete-milestone":
            fields["milestone_id"] = self.milestones[(key, fields["milestone_id"])]
        result = self.app.commitment_action(
            self.members[step.by], self.commitments[key], step.action, fields,
            occurred_on=date.fromisoformat(step.on), note=step.note)
        if step.action == "add-milestone":
            self.milestones[(key, step.fields["title"])] = result.extra["milestone_id"]


# --- the stories ----------------------------------------------------------------------------------


def demo_dialogues() -> list[DialogueSpec]:
    return [_saaba(), _dakar(), _jos(), _nepal()]


def _saaba() -> DialogueSpec:
    return DialogueSpec(
        slug="saaba",
        name="Dialogue justice et sécurité de Saaba",
        country="BF",
        locality="Saaba",
        description=(
            "Ouvert en 2016 après une vague de vols et de cambriolages dans cette commune rurale "
            "du sud du Burkina Faso. La police et le groupe d'autodéfense local, qui se regardaient "
            "en rivaux, y apprennent à travailler ensemble pour faire reculer la délinquance."
        ),
        started_on="2016-03-10",
        parties={
            "police": ("Commissariat de police de Saaba", "police"),
            "autodefense": ("Groupe d'autodéfense de Saaba", "vigilante"),
            "mairie": ("Mairie de Saaba", "local_government"),
            "femmes": ("Association des femmes de Saaba", "women"),
        },
        secretary="mairie",
        meetings=(
            MeetingSpec(
                "2016-04-14", "Première session : ce qui ne va pas",
                {"police": 6, "autodefense": 8, "mairie": 3, "femmes": 7},
                "Chaque partie dit ce qu'elle reproche aux autres. Les secteurs éloignés du centre "
                "sont les plus touchés par les vols de nuit ; les victimes ne portent plus plainte.",
            ),
            MeetingSpec(
                "2016-09-22", "Deuxième session : bilan des patrouilles",
                {"police": 5, "autodefense": 7, "mairie": 4, "femmes": 9},
                "Les patrouilles mixtes tournent depuis mai. Les femmes demandent de l'éclairage "
                "sur la route du marché ; le groupe d'autodéfense demande des moyens de transport.",
                note="Le chef du groupe d'autodéfense a quitté la salle un moment ; tension apaisée "
                     "par le maire.",
            ),
            MeetingSpec(
                "2017-03-16", "Session d'un an",
                {"police": 6, "autodefense": 6, "mairie": 5, "femmes": 8},
                "Les cambriolages signalés ont nettement baissé. La police et le groupe "
                "d'autodéfense se réunissent désormais chaque mois sans médiateur.",
            ),
        ),
        cases=(
            CaseSpec(
                "vols", "Vols et cambriolages de nuit dans les secteurs périphériques",
                "theft_burglary", by="femmes", on="2016-04-14",
                description="Depuis la fin de 2015, boutiques et cours familiales sont visitées la "
                            "nuit, surtout après les jours de marché.",
            ),
            CaseSpec(
                "mefiance", "Défiance entre la police et le groupe d'autodéfense",
                "police_community_relations", by="police", on="2016-04-14",
                description="Le groupe arrête des suspects et les garde parfois plusieurs jours ; "
                            "la police y voit une concurrence, le groupe juge la police absente.",
                steps=(
                    Step("2017-03-16", "police", "resolve", {
                        "summary": "Les deux forces patrouillent ensemble et tiennent une réunion "
                                   "mensuelle ; elles se présentent désormais comme partenaires."}),
                ),
            ),
        ),
        commitments=(
            CommitmentSpec(
                "patrouilles", "Patrouilles mixtes de nuit après les jours de marché",
                by="police", required=("police", "autodefense"), on="2016-04-20", case="vols",
                description="Une équipe police et groupe d'autodéfense circule dans les secteurs "
                            "touchés pendant les nuits qui suivent le marché.",
                steps=(
                    Step("2016-04-28", "autodefense", "endorse"),
                    Step("2016-05-05", "police", "agree"),
                    Step("2016-05-05", "police", "assign",
                         {"party_id": "police", "due_date": "2016-12-31"}),
                    Step("2016-05-10", "police", "add-milestone",
                         {"title": "Composition des équipes mixtes arrêtée",
                          "due_date": "2016-05-31"}),
                    Step("2016-05-10", "police", "add-milestone",
                         {"title": "Premier mois de patrouilles", "due_date": "2016-07-15"}),
                    Step("2016-05-28", "police", "complete-milestone",
                         {"milestone_id": "Composition des équipes mixtes arrêtée"}),
                    Step("2016-06-15", "police", "progress", {"percent": 30}),
                    Step("2016-07-12", "police", "complete-milestone",
                         {"milestone_id": "Premier mois de patrouilles"}),
                    Step("2016-07-12", "autodefense", "attach-evidence",
                         {"description": "Cahier des patrouilles de juin, signé par les deux chefs "
                                         "d'équipe",
                          "sha256": digest("saaba cahier patrouilles juin 2016")}),
                    Step("2016-09-22", "police", "progress", {"percent": 70}),
                    Step("2016-11-30", "police", "complete", {
                        "summary": "Les patrouilles ont eu lieu chaque nuit de marché depuis mai ; "
                                   "les deux équipes se relaient sans incident."}),
                    Step("2016-12-08", "autodefense", "verify"),
                ),
            ),
            CommitmentSpec(
                "remise", "Remettre à la police tout suspect interpellé dans les 24 heures",
                by="police", required=("police", "autodefense"), on="2016-04-20", case="mefiance",
                steps=(
                    Step("2016-05-05", "autodefense", "endorse"),
                    Step("2016-05-05", "police", "agree"),
                    Step("2016-05-12", "police", "assign",
                         {"party_id": "autodefense", "due_date": "2016-10-31"}),
                    Step("2016-08-20", "autodefense", "progress", {"percent": 60}),
                    Step("2016-10-25", "autodefense", "complete", {
                        "summary": "Les suspects sont conduits au commissariat le jour même de "
                                   "leur interpellation."}),
                    Step("2016-11-08", "police", "dispute", {
                        "reason": "Un commerçant interpellé début novembre est resté deux jours "
                                  "chez le chef de groupe avant d'être remis à la police."},
                         note="Le commissariat connaît le nom du commerçant ; il n'est pas noté "
                              "ici."),
                    # not a party to it, the women's association is heard all the same
                    Step("2016-11-10", "femmes", "comment",
                         note="Nous avions signalé ce cas au commissariat ; merci de l'avoir "
                              "porté devant le dialogue."),
                    Step("2017-01-15", "autodefense", "progress", {"percent": 80},
                         note="Deux membres du groupe sont chargés des transferts au commissariat."),
                ),
            ),
            CommitmentSpec(
                "eclairage", "Éclairage public sur la route du marché",
                by="femmes", required=("mairie", "femmes"), on="2016-09-22", case="vols",
                description="Vingt lampadaires solaires entre le marché et les secteurs 3 et 4.",
                steps=(
                    Step("2016-10-03", "mairie", "endorse"),
                    Step("2016-10-03", "mairie", "agree"),
                    Step("2016-10-20", "mairie", "assign",
                         {"party_id": "mairie", "due_date": "2017-06-30"}),
                    Step("2016-11-02", "mairie", "add-milestone",
                         {"title": "Devis d'un fournisseur de lampadaires",
                          "due_date": "2016-12-15"}),
                    Step("2016-11-02", "mairie", "add-milestone",
                         {"title": "Pose des vingt lampadaires", "due_date": "2017-05-31"}),
                    Step("2017-01-10", "mairie", "complete-milestone",
                         {"milestone_id": "Devis d'un fournisseur de lampadaires"}),
                    Step("2017-01-10", "mairie", "attach-evidence",
                         {"description": "Devis pour vingt lampadaires solaires",
                          "url": "https://example.org/demo/saaba/devis-eclairage.pdf"}),
                    Step("2017-03-16", "mairie", "progress", {"percent": 40}),
                ),
            ),
            CommitmentSpec(
                "motos", "Fournir deux motos au groupe d'autodéfense",
                by="autodefense", required=("mairie", "autodefense"), on="2016-09-22",
                steps=(
                    Step("2016-10-03", "mairie", "endorse"),
                    Step("2016-10-03", "mairie", "agree"),
                    Step("2017-03-16", "mairie", "cancel", {
                        "reason": "Le conseil municipal n'a pas voté la dépense et la police refuse "
                                  "d'équiper un groupe sans statut officiel ; les patrouilles mixtes "
                                  "utilisent les véhicules du commissariat."}),
                ),
            ),
            CommitmentSpec(
                "formation", "Formation commune sur les droits des personnes interpellées",
                by="police", required=("police", "autodefense", "femmes"), on="2017-03-16",
                case="mefiance",
                steps=(Step("2017-03-20", "femmes", "endorse"),),
            ),
        ),
    )


def _dakar() -> DialogueSpec:
    return DialogueSpec(
        slug="dakar-quartier",
        name="Dialogue justice et sécurité d'un quartier de Dakar",
        country="SN",
        locality="Dakar (un quartier)",
        description=(
            "Dans ce quartier, beaucoup d'habitants voyaient la police comme un adversaire. Le "
            "dialogue porte sur l'échange d'informations entre habitants et police, et sur les "
            "heurts des jours de match devant l'église qui fait face à l'entrée du stade."
        ),
        started_on="2017-01-16",
        parties={
            "police": ("Commissariat d'arrondissement", "police"),
            "delegues": ("Délégués de quartier", "community"),
            "paroisse": ("Paroisse du quartier", "religious"),
            "supporters": ("Association des supporters", "youth"),
            "mairie": ("Mairie d'arrondissement", "local_government"),
        },
        secretary="delegues",
        meetings=(
            MeetingSpec(
                "2017-02-09", "Première session : griefs et attentes",
                {"police": 5, "delegues": 9, "paroisse": 4, "supporters": 6, "mairie": 2},
                "Les habitants disent qu'ils ne signalent rien par peur d'être exposés. La paroisse "
                "décrit les heurts qui suivent chaque match à domicile.",
            ),
            MeetingSpec(
                "2017-06-15", "Session sur les abords du stade",
                {"police": 4, "delegues": 7, "paroisse": 5, "supporters": 8, "mairie": 4},
                "La mairie présente l'idée de déplacer l'entrée du stade vers l'avenue ; les "
                "supporters proposent des stewards issus du quartier.",
            ),
            MeetingSpec(
                "2018-01-25", "Revue annuelle",
                {"police": 6, "delegues": 10, "paroisse": 4, "supporters": 5, "mairie": 3},
                "Les réunions mensuelles avec la police ont eu lieu ; plusieurs habitants disent "
                "maintenant appeler le commissariat eux-mêmes.",
            ),
            MeetingSpec(
                "2018-11-08", "Clôture de la deuxième année",
                {"police": 5, "delegues": 8, "paroisse": 5, "supporters": 7, "mairie": 3},
                "Plus aucun heurt devant l'église depuis l'ouverture de la nouvelle entrée.",
            ),
        ),
        cases=(
            CaseSpec(
                "heurts", "Heurts entre supporters et fidèles les jours de match", "violence",
                by="paroisse", on="2017-02-09",
                description="La sortie du stade donne sur le parvis de l'église : insultes et jets "
                            "de pierres reviennent à chaque match du dimanche.",
                steps=(
                    Step("2018-11-08", "paroisse", "resolve", {
                        "summary": "Depuis que l'entrée du stade donne sur l'avenue, supporters et "
                                   "fidèles ne se croisent plus."}),
                ),
            ),
            CaseSpec(
                "information", "Les habitants ne transmettent aucune information à la police",
                "police_community_relations", by="police", on="2017-02-09",
                description="Par crainte d'être reconnus, les témoins se taisent ; la police "
                            "apprend les délits trop tard.",
            ),
        ),
        commitments=(
            CommitmentSpec(
                "entree", "Déplacer l'entrée du stade qui fait face à l'église",
                by="mairie", required=("mairie", "paroisse", "supporters"), on="2017-06-15",
                case="heurts",
                description="Ouvrir un nouvel accès côté avenue et murer la porte qui donne sur le "
                            "parvis.",
                steps=(
                    Step("2017-06-22", "paroisse", "endorse"),
                    Step("2017-06-26", "supporters", "endorse"),
                    Step("2017-06-29", "mairie", "agree"),
                    Step("2017-07-03", "mairie", "assign",
                         {"party_id": "mairie", "due_date": "2018-03-31"}),
                    Step("2017-07-03", "mairie", "add-milestone",
                         {"title": "Étude du nouvel accès", "due_date": "2017-09-30"}),
                    Step("2017-07-03", "mairie", "add-milestone",
                         {"title": "Travaux de percement et de clôture", "due_date": "2018-02-28"}),
                    Step("2017-07-03", "mairie", "add-milestone",
                         {"title": "Ouverture de la nouvelle entrée", "due_date": "2018-03-31"}),
                    Step("2017-09-25", "mairie", "complete-milestone",
                         {"milestone_id": "Étude du nouvel accès"}),
                    Step("2017-09-25", "mairie", "attach-evidence",
                         {"description": "Plan de l'accès déplacé, visé par les services techniques",
                          "url": "https://example.org/demo/dakar/plan-acces.pdf",
                          "sha256": digest("dakar plan acces stade")}),
                    Step("2017-12-10", "mairie", "progress", {"percent": 60}),
                    Step("2018-02-20", "mairie", "complete-milestone",
                         {"milestone_id": "Travaux de percement et de clôture"}),
                    Step("2018-03-24", "mairie", "complete-milestone",
                         {"milestone_id": "Ouverture de la nouvelle entrée"}),
                    Step("2018-03-24", "supporters", "attach-evidence",
                         {"description": "Photos de la nouvelle entrée le jour de son ouverture",
                          "url": "https://example.org/demo/dakar/ouverture.jpg"}),
                    Step("2018-03-24", "mairie", "complete", {
                        "summary": "La nouvelle entrée donne sur l'avenue ; l'ancienne porte face à "
                                   "l'église est murée."}),
                    Step("2018-04-30", "paroisse", "verify",
                         note="Aucun incident aux trois derniers matchs à domicile."),
                ),
            ),
            CommitmentSpec(
                "reunions", "Une réunion par mois entre la police et les délégués de quartier",
                by="delegues", required=("police", "delegues"), on="2017-02-09", case="information",
                steps=(
                    Step("2017-02-20", "police", "endorse"),
                    Step("2017-02-20", "delegues", "agree"),
                    Step("2017-03-01", "delegues", "assign",
                         {"party_id": "police", "due_date": "2017-12-31"}),
                    Step("2017-05-02", "police", "progress", {"percent": 25}),
                    Step("2017-08-01", "police", "progress", {"percent": 50}),
                    Step("2017-11-15", "police", "progress", {"percent": 90}),
                    Step("2018-01-25", "police", "complete", {
                        "summary": "Onze réunions tenues en 2017 ; les comptes rendus sont affichés "
                                   "à la mairie d'arrondissement."}),
                ),
            ),
            CommitmentSpec(
                "informateurs", "Protéger l'identité des habitants qui renseignent la police",
                by="police", required=("police", "delegues"), on="2017-06-15", case="information",
                public=False,
                private_note="Les noms des informateurs ne figurent que dans le registre du "
                             "commissaire ; ce dossier n'en contient aucun. Ne pas publier.",
                steps=(
                    Step("2017-06-20", "delegues", "endorse"),
                    Step("2017-06-20", "police", "agree"),
                    Step("2017-07-01", "police", "assign",
                         {"party_id": "police", "due_date": "2018-06-30"}),
                    Step("2017-07-01", "police", "add-milestone",
                         {"title": "Numéro d'appel réservé aux signalements",
                          "due_date": "2017-10-31"}),
                    Step("2017-10-20", "police", "complete-milestone",
                         {"milestone_id": "Numéro d'appel réservé aux signalements"}),
                    Step("2018-01-25", "police", "progress", {"percent": 50, "public": False},
                         note="Deux signalements ont permis des interpellations ce trimestre."),
                ),
            ),
            CommitmentSpec(
                "stewards", "Des stewards du quartier aux abords du stade les jours de match",
                by="supporters", required=("supporters", "police"), on="2017-06-15", case="heurts",
                steps=(
                    Step("2017-06-22", "police", "endorse"),
                    Step("2017-06-29", "supporters", "agree"),
                    Step("2017-07-03", "police", "assign",
                         {"party_id": "supporters", "due_date": "2017-10-31"}),
                    Step("2017-08-30", "supporters", "progress", {"percent": 50}),
                    Step("2017-10-20", "supporters", "complete", {
                        "summary": "Vingt jeunes formés encadrent la sortie du stade à chaque "
                                   "match."}),
                    Step("2017-11-02", "police", "verify"),
                    Step("2018-05-13", "paroisse", "comment", {"public": True},
                         note="Au match d'hier, aucun steward n'était là et des bagarres ont "
                              "repris près du marché."),
                    Step("2018-05-14", "police", "reopen", {
                        "reason": "Au match du 12 mai, aucun steward n'était présent et des "
                                  "bagarres ont repris près du marché."}),
                    Step("2018-05-20", "police", "assign",
                         {"party_id": "supporters", "due_date": "2018-12-31"}),
                    Step("2018-11-08", "supporters", "progress", {"percent": 70}),
                ),
            ),
            CommitmentSpec(
                "dimanche", "Interdire les matchs le dimanche matin",
                by="paroisse", required=("mairie", "supporters", "paroisse"), on="2017-02-09",
                case="heurts",
                steps=(
                    Step("2017-06-29", "paroisse", "withdraw", {
                        "reason": "Le déplacement de l'entrée du stade règle le problème sans "
                                  "priver les jeunes de leurs matchs."}),
                ),
            ),
        ),
    )


def _jos() -> DialogueSpec:
    return DialogueSpec(
        slug="jos",
        name="Justice and security dialogue, Jos",
        country="NG",
        locality="Jos (a neighbourhood)",
        description=(
            "After residents set the police station on fire and drove the officers out, this "
            "neighbourhood had no police at all. The dialogue works to bring police services back, "
            "starting with a new station on land the community gave."
        ),
        started_on="2016-02-01",
        parties={
            "police": ("Nigeria Police Force, divisional command", "police"),
            "cda": ("Community Development Association", "community"),
            "ward": ("Ward councillor's office", "local_government"),
            "youth": ("Youth forum", "youth"),
            "leaders": ("Religious and traditional leaders", "religious"),
        },
        secretary="cda",
        meetings=(
            MeetingSpec(
                "2016-02-18", "Opening session: why the station burned",
                {"police": 4, "cda": 10, "ward": 2, "youth": 12, "leaders": 5},
                "Residents and officers give their accounts of the night the station burned. All "
                "agree the neighbourhood is less safe without police.",
            ),
            MeetingSpec(
                "2016-07-07", "Session on the new station",
                {"police": 5, "cda": 8, "ward": 3, "youth": 9, "leaders": 4},
                "The land is secured. The police and the community agree to build together.",
            ),
            MeetingSpec(
                "2017-03-09", "Review: building work and patrols",
                {"police": 6, "cda": 9, "ward": 2, "youth": 10, "leaders": 4},
                "Foundations are done; the youth forum asks for night patrols on the ring road.",
            ),
            MeetingSpec(
                "2017-11-16", "Handover of the new station",
                {"police": 12, "cda": 15, "ward": 4, "youth": 14, "leaders": 6},
                "The new station opens; officers and residents hold the session inside it.",
                note="The divisional officer asked that the handover photographs not show recruits' "
                     "faces.",
            ),
        ),
        cases=(
            CaseSpec(
                "station", "No police presence since the station was burned",
                "police_community_relations", by="cda", on="2016-02-18",
                description="Officers withdrew after the fire; complaints go unrecorded and people "
                            "settle matters by themselves.",
            ),
            CaseSpec(
                "land", "A site for a new police station", "land_property", by="police",
                on="2016-02-18",
                description="The command will not rebuild on the old site and has no land nearby.",
                steps=(
                    Step("2016-07-07", "police", "resolve",
                         {"summary": "A family gave a plot beside the market road."}),
                ),
            ),
            CaseSpec(
                "robbery", "Night robberies on the ring road", "theft_burglary", by="youth",
                on="2016-07-07",
                description="Traders coming home after dark are stopped and robbed.",
            ),
        ),
        commitments=(
            CommitmentSpec(
                "land", "Donate a plot of land for the new police station",
                by="cda", required=("cda", "leaders", "police"), on="2016-02-18", case="land",
                steps=(
                    Step("2016-03-01", "leaders", "endorse"),
                    Step("2016-03-05", "police", "endorse"),
                    Step("2016-03-05", "cda", "agree"),
                    Step("2016-03-10", "cda", "assign", {"party_id": "cda", "due_date": "2016-06-30"}),
                    Step("2016-03-10", "cda", "add-milestone",
                         {"title": "Owners agree to give the plot", "due_date": "2016-04-30"}),
                    Step("2016-03-10", "cda", "add-milestone",
                         {"title": "Deed of gift signed and registered", "due_date": "2016-06-30"}),
                    Step("2016-04-22", "cda", "complete-milestone",
                         {"milestone_id": "Owners agree to give the plot"}),
                    Step("2016-06-10", "cda", "attach-evidence",
                         {"description": "Deed of gift, stamped by the land registry",
                          "sha256": digest("jos deed of gift")}),
                    Step("2016-06-10", "cda", "complete-milestone",
                         {"milestone_id": "Deed of gift signed and registered"}),
                    Step("2016-06-14", "cda", "complete", {
                        "summary": "The plot beside the market road now belongs to the police "
                                   "command."}),
                    Step("2016-07-07", "police", "verify"),
                ),
            ),
            CommitmentSpec(
                "build", "Build the new station with community labour",
                by="police", required=("police", "cda", "youth", "ward"), on="2016-07-07",
                case="station",
                description="The command pays for materials; the youth forum and the association "
                            "give labour on Saturdays.",
                steps=(
                    Step("2016-07-14", "cda", "endorse"),
                    Step("2016-07-14", "youth", "endorse"),
                    Step("2016-07-18", "ward", "endorse"),
                    Step("2016-07-21", "police", "agree"),
                    Step("2016-08-01", "police", "assign",
                         {"party_id": "police", "due_date": "2017-10-31"}),
                    Step("2016-08-01", "police", "add-milestone",
                         {"title": "Foundations", "due_date": "2016-12-31"}),
                    Step("2016-08-01", "police", "add-milestone",
                         {"title": "Walls and roof", "due_date": "2017-06-30"}),
                    Step("2016-08-01", "police", "add-milestone",
                         {"title": "Handover and reopening", "due_date": "2017-10-31"}),
                    Step("2016-10-15", "police", "progress", {"percent": 20}),
                    Step("2016-12-12", "police", "complete-milestone", {"milestone_id": "Foundations"}),
                    Step("2016-12-12", "youth", "attach-evidence",
                         {"description": "Photographs of the foundations with the Saturday work team",
                          "url": "https://example.org/demo/jos/foundations.jpg"}),
                    Step("2017-03-09", "police", "progress", {"percent": 55}),
                    Step("2017-07-20", "police", "complete-milestone",
                         {"milestone_id": "Walls and roof"},
                         note="Three weeks late: the roofing sheets were delivered in July."),
                    Step("2017-09-30", "police", "progress", {"percent": 90}),
                    Step("2017-11-16", "police", "complete-milestone",
                         {"milestone_id": "Handover and reopening"}),
                    Step("2017-11-16", "police", "complete", {
                        "summary": "The station opened on 16 November with twelve officers "
                                   "posted."}),
                    Step("2017-11-30", "cda", "verify"),
                ),
            ),
            CommitmentSpec(
                "patrols", "Resume night patrols on the ring road",
                by="youth", required=("police", "youth"), on="2017-03-09", case="robbery",
                steps=(
                    Step("2017-03-15", "police", "endorse"),
                    Step("2017-03-15", "youth", "agree"),
                    Step("2017-11-20", "police", "assign",
                         {"party_id": "police", "due_date": "2018-03-31"}),
                    Step("2018-01-10", "police", "progress", {"percent": 30}),
                ),
            ),
            CommitmentSpec(
                "vehicle", "The youth forum buys a patrol vehicle for the police",
                by="youth", required=("police", "youth"), on="2016-07-07", case="robbery",
                steps=(
                    Step("2016-07-21", "police", "reject", {
                        "reason": "The command cannot accept equipment paid for by one group at "
                                  "the table; the ward will ask the state government instead."}),
                ),
            ),
            CommitmentSpec(
                "liaison", "A community and police liaison committee that meets every month",
                by="leaders", required=("police", "cda", "leaders"), on="2017-11-16",
                case="station",
                steps=(
                    Step("2017-11-20", "leaders", "amend", {
                        "title": "A community, youth and police liaison committee that meets "
                                 "every month",
                        "reason": "The youth forum asked for a seat on the committee."}),
                    Step("2017-11-30", "police", "endorse"),
                    Step("2017-11-30", "cda", "endorse"),
                    Step("2017-12-07", "leaders", "agree"),
                ),
            ),
        ),
    )


def _nepal() -> DialogueSpec:
    return DialogueSpec(
        slug="nepal-2007",
        name="Police and community dialogue, Nepal 2007",
        country="NP",
        locality="Kathmandu and six Terai districts",
        description=(
            "The first dialogue held after ten years of civil war, to rebuild trust between the "
            "police and the people. Sessions from February to August 2007 gathered police officers, "
            "civil society, officials and members of ten political parties from 21 districts."
        ),
        started_on="2007-02-05",
        parties={
            "police": ("Nepal Police", "police"),
            "civil": ("Civil society members", "community"),
            "admin": ("District administration", "local_government"),
            "parties": ("Political party representatives", "other"),
        },
        secretary="civil",
        meetings=(
            MeetingSpec("2007-02-22", "Opening session, Kathmandu",
                        {"police": 40, "civil": 45, "admin": 10, "parties": 6},
                        "Participants list what keeps people from going to the police: fear, "
                        "prejudice and disputes that turn violent."),
            MeetingSpec("2007-05-17", "Session in the Terai districts",
                        {"police": 50, "civil": 60, "admin": 14, "parties": 8},
                        "Sessions in six districts; drug abuse among the young comes up everywhere."),
            MeetingSpec("2007-08-09", "Closing session, Kathmandu",
                        {"police": 35, "civil": 39, "admin": 12, "parties": 6},
                        "The dialogue reviews its commitments and asks for a survey of security "
                        "and access to justice across the districts."),
        ),
        cases=(
            CaseSpec("drugs", "Drug abuse among young people", "drugs", by="civil",
                     on="2007-02-22",
                     description="Families say drugs reach school pupils and nobody acts."),
            CaseSpec("prejudice", "Prejudice among ethnic and religious groups",
                     "police_community_relations", by="civil", on="2007-02-22",
                     description="Some groups feel the police treat them as suspects by default."),
            CaseSpec("disputes", "Local disputes that end in violence", "violence", by="police",
                     on="2007-05-17",
                     description="Land and family quarrels turn into fights before anyone "
                                 "mediates."),
        ),
        commitments=(
            CommitmentSpec(
                "awareness", "Joint drug-awareness sessions in schools",
                by="police", required=("police", "civil"), on="2007-02-22", case="drugs",
                steps=(
                    Step("2007-03-01", "civil", "endorse"),
                    Step("2007-03-01", "civil", "agree"),
                    Step("2007-03-05", "police", "assign",
                         {"party_id": "civil", "due_date": "2007-12-31"}),
                    Step("2007-03-05", "civil", "add-milestone",
                         {"title": "Sessions in Kathmandu schools", "due_date": "2007-06-30"}),
                    Step("2007-03-05", "civil", "add-milestone",
                         {"title": "Sessions in the Terai districts", "due_date": "2007-11-30"}),
                    Step("2007-06-20", "civil", "complete-milestone",
                         {"milestone_id": "Sessions in Kathmandu schools"}),
                    Step("2007-06-20", "civil", "attach-evidence",
                         {"description": "Attendance sheets of fourteen school sessions",
                          "sha256": digest("nepal school sessions attendance")}),
                    Step("2007-06-20", "civil", "progress", {"percent": 50}),
                    Step("2007-08-09", "civil", "progress", {"percent": 65}),
                ),
            ),
            CommitmentSpec(
                "panels", "Mixed mediation panels for violent local disputes",
                by="admin", required=("police", "civil", "admin"), on="2007-05-17",
                case="disputes",
                steps=(
                    Step("2007-05-24", "police", "endorse"),
                    Step("2007-05-24", "civil", "endorse"),
                    Step("2007-05-24", "admin", "agree"),
                    Step("2007-05-24", "admin", "assign",
                         {"party_id": "admin", "due_date": "2007-08-31"}),
                    Step("2007-07-05", "admin", "progress", {"percent": 50}),
                    Step("2007-08-09", "admin", "complete",
                         {"summary": "A panel has been named in each of the six Terai districts."}),
                    Step("2007-08-09", "civil", "dispute", {
                        "reason": "In two districts the panel was named but has never sat; "
                                  "disputes there still end in fights."}),
                    Step("2007-08-30", "admin", "progress", {"percent": 75},
                         note="The two districts are not named here at the panel members' request."),
                ),
            ),
            CommitmentSpec(
                "radio", "A monthly radio programme where the police answer residents",
                by="civil", required=("police", "civil"), on="2007-02-22", case="prejudice",
                steps=(
                    Step("2007-03-01", "police", "endorse"),
                    Step("2007-03-01", "police", "agree"),
                    Step("2007-03-08", "civil", "assign",
                         {"party_id": "police", "due_date": "2007-07-31"}),
                    Step("2007-04-30", "police", "progress", {"percent": 50}),
                    Step("2007-06-28", "police", "complete", {
                        "summary": "Four programmes went out on community radio in Kathmandu and "
                                   "two Terai districts."}),
                    Step("2007-07-05", "civil", "verify"),
                ),
            ),
            CommitmentSpec(
                "recruitment", "Recruit officers from under-represented groups in the Terai",
                by="civil", required=("police", "admin", "parties"), on="2007-05-17",
                case="prejudice",
                steps=(
                    Step("2007-06-01", "civil", "amend", {
                        "description": "A share of each recruitment round in the six districts is "
                                       "kept for local candidates from groups the force lacks.",
                        "reason": "The first wording gave no way to tell whether it was kept."}),
                    Step("2007-06-10", "parties", "endorse"),
                ),
            ),
            CommitmentSpec(
                "wings", "Party youth wings patrol their own neighbourhoods",
                by="parties", required=("police", "civil", "parties"), on="2007-05-17",
                case="disputes",
                steps=(
                    Step("2007-05-24", "police", "reject", {
                        "reason": "Patrols by party wings would deepen the divides the dialogue "
                                  "is trying to close; mixed community patrols are preferred."}),
                ),
            ),
        ),
    )
