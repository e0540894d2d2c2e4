#!/usr/bin/python3
"""Loads a demo territory into a running Relais through its HTTP API.

    scripts/demo.py URL TOKEN        e.g. demo.py http://127.0.0.1:8080 rls_…

The territory is the one of shared/spec/domain.md: venues in the priority
neighbourhoods (QPV) of the agglomeration of Chambéry, four digital mediators
and a coordinator, about fifty residents (mostly women, mostly older, as in the
programme's activity report) and eleven social workers, a month of weekly
workshops on the usual themes, weekly permanences with 30-minute slots, and
one "Et si j'accompagnais" (ESJA) training for professionals. Then people
enroll (some workshops fill up and keep a waitlist, whose people are told
so), a few enroll in a whole series at once (one confirmation for all their
dates), one enrollment is cancelled (promoting the waitlist), two sessions
are cancelled (with their reason), attendance is recorded on the sessions
already over, and one resident who moved away is erased (right to erasure).
Venues give a phone number that the beneficiaries' pages show. The
coordinator and the first trainer sign in to the console with e-mail and
password: scripts/run sets their passwords with `relais staff set-password`
after the load.

The programme's records come with it: the organisations of the network
(CCAS, CAF, social centres, Mission locale, France Travail, a social
landlord, libraries…) that sent the residents or employ the ESJA trainees
(who are professionals, not residents), accompaniments given at the past
permanences and by phone, the walk-ins counted at permanences, the network's
meetings, the 8 laptops and 8 tablets with a few loans and the sessions
they were used in, and the ESJA trainees' Pix self-assessment (a Pix Orga
export imported), so that every block of the activity report has figures.

And the pass numérique (APTIC) circuit: the 2025 and 2026 orders of cheque
books, books handed to distributors and then one to each person, and the
platform's export of the passes spent (tests/integration/pass/
export-aptic-cp1252.csv, as Excel leaves it: Windows-1252, ';'), with one of
each anomaly the hand-ticking used to look for.

Everything goes through the public API with an admin TOKEN, so the data is
checked exactly like a client's. The choices are drawn from a seeded random
generator: the same day gives the same data. The sessions span two weeks back
to two weeks ahead of the current week, so that there is both history (with
attendance) and a schedule. Any answer other than 2xx stops the script with
the request and the answer, and exit status 1.

The phone numbers and e-mail addresses are made up (e-mails use the reserved
example.org domain); with the default console providers nothing is sent.
"""
import datetime as dt
import http.client
import json
import os
import random
import sys
import unicodedata
import urllib.parse
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/Paris")   # the zone of etc/relais.conf.lua
SEED = 2019                     # first year of the activity report

# --- the territory ----------------------------------------------------------

# Priority neighbourhoods (QPV) by commune, from domain.md.
QPV = {
    "Chambéry": ["Les Hauts-de-Chambéry", "Bellevue", "Le Biollay", "Chantemerle",
                 "Le Piochet", "La Cassine", "Le Mas Barral"],
    "Barby": ["Le Clos Gaillard", "Les Epinettes"],
    "Cognin": ["La Forgerie", "La Poterie"],
    "La Ravoire": ["Le Val Fleuri", "Féjaz", "Les Epinettes"],
    "Jacob-Bellecombette": ["Le Corbelet"],
    "Saint-Alban-Leysse": ["Les Tournelles"],
    "La Motte-Servolex": ["Les Chantres"],
    "Saint-Baldoph": ["L'Espinier", "Le Pré Rond"],
    "Barberaz": ["La Galerie de Chartreuse"],
}

# (key, name, address, commune, neighbourhood, aptic, accessible)
VENUES = [
    ("cs_hauts", "Centre social des Hauts-de-Chambéry", "12 place du Forum",
     "Chambéry", "Les Hauts-de-Chambéry", True, True),
    ("cs_biollay", "Centre social du Biollay", "3 rue Louise Michel",
     "Chambéry", "Le Biollay", True, True),
    ("bib_bellevue", "Bibliothèque de Bellevue", "25 avenue de Bellevue",
     "Chambéry", "Bellevue", False, True),
    ("ccas_chambery", "CCAS de Chambéry", "8 rue de la Banque",
     "Chambéry", None, False, True),
    ("en_chantemerle", "Espace numérique de Chantemerle", "5 allée des Érables",
     "Chambéry", "Chantemerle", True, True),
    ("mq_piochet", "Maison de quartier du Piochet", "14 rue du Piochet",
     "Chambéry", "Le Piochet", False, False),
    ("mef_barby", "Maison de l'enfance et de la famille du Clos Gaillard",
     "2 rue du Clos Gaillard", "Barby", "Le Clos Gaillard", False, True),
    ("csc_cognin", "Centre socioculturel de Cognin", "40 rue de la Forgerie",
     "Cognin", "La Forgerie", True, True),
    ("ccas_ravoire", "CCAS de La Ravoire", "1 place de l'Hôtel de Ville",
     "La Ravoire", "Le Val Fleuri", False, True),
    ("media_alban", "Médiathèque des Tournelles", "7 rue des Tournelles",
     "Saint-Alban-Leysse", "Les Tournelles", False, True),
    ("asso_chantres", "Association Clic'Solidaire", "18 chemin des Chantres",
     "La Motte-Servolex", "Les Chantres", True, False),
    ("local_corbelet", "Local associatif du Corbelet", "9 rue du Corbelet",
     "Jacob-Bellecombette", "Le Corbelet", False, True),
]

# (name, role, email, phone)
STAFF = [
    ("Claire Duval", "coordinator", "claire.duval@example.org", "04 79 00 11 22"),
    ("Samir Belkacem", "trainer", "samir.belkacem@example.org", "06 00 11 22 33"),
    ("Élodie Perrin", "trainer", "elodie.perrin@example.org", "06 00 22 33 44"),
    ("Julien Masson", "trainer", "julien.masson@example.org", "07 00 33 44 55"),
    ("Nadia Chérif", "trainer", "nadia.cherif@example.org", "07 00 44 55 66"),
]

FIRST_F_OLD = ["Monique", "Françoise", "Jacqueline", "Martine", "Nicole", "Christiane",
               "Josiane", "Danielle", "Colette", "Yvette", "Odette", "Marie-Thérèse",
               "Fatima", "Khadija", "Aïcha", "Malika", "Zohra", "Emine", "Maria",
               "Rosa", "Fernanda", "Huguette", "Simone", "Ginette", "Andrée"]
FIRST_F_YOUNG = ["Sarah", "Inès", "Camille", "Laura", "Amandine", "Nadia", "Samira",
                 "Leïla", "Céline", "Sandrine", "Nathalie", "Isabelle", "Valérie",
                 "Karima", "Sophie", "Aurélie"]
FIRST_M_OLD = ["Jean-Pierre", "Michel", "Gérard", "Bernard", "André", "Ahmed",
               "Mohamed", "Mustafa", "José", "Manuel", "Alain", "Marcel", "Roger"]
FIRST_M_YOUNG = ["Karim", "Kévin", "Thomas", "Yannick", "Patrick", "Mehmet",
                 "Nicolas", "Sébastien", "Youssef"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit",
        "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Garcia",
        "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
        "Faure", "Blanc", "Guérin", "Boyer", "Chevallier", "Morel", "Mercier",
        "Benali", "Haddad", "Mansouri", "Bouzid", "Yilmaz", "Demir", "Kaya",
        "Pereira", "Da Silva", "Ferreira", "Rodrigues", "Gonçalves", "Diallo",
        "Traoré", "Jacquier", "Dunand", "Favre", "Bouvier", "Chappaz", "Rey",
        "Excoffier", "Viallet", "Curtet", "Mollard", "Gojon", "Cohendoz"]

PRESCRIBERS = ["CCAS de Chambéry", "France Travail", "CAF de la Savoie",
               "Centre social des Hauts-de-Chambéry", "CCAS de La Ravoire",
               "Centre social du Biollay"]

# The network: (name, kind, commune). Prescribers and employers are among them.
ORGANISATIONS = [
    ("CCAS de Chambéry", "ccas", "Chambéry"),
    ("CCAS de La Ravoire", "ccas", "La Ravoire"),
    ("CAF de la Savoie", "caf", "Chambéry"),
    ("Centre social des Hauts-de-Chambéry", "centre_social", "Chambéry"),
    ("Centre social du Biollay", "centre_social", "Chambéry"),
    ("Centre socioculturel de Cognin", "centre_social", "Cognin"),
    ("Mission locale du bassin chambérien", "mission_locale", "Chambéry"),
    ("France Travail", "france_travail", "Chambéry"),
    ("Cristal Habitat", "bailleur", "Chambéry"),
    ("Médiathèque Jean-Jacques Rousseau", "mediatheque", "Chambéry"),
    ("Bibliothèque de Bellevue", "mediatheque", "Chambéry"),
    ("France Services de La Motte-Servolex", "france_services", "La Motte-Servolex"),
    ("Association Clic'Solidaire", "association", "La Motte-Servolex"),
    ("CPAM de la Savoie", "other", "Chambéry"),
    ("CARSAT Rhône-Alpes", "other", "Lyon"),
    ("Ville de Chambéry", "commune", "Chambéry"),
    ("Département de la Savoie", "departement", "Chambéry"),
]

# What people come to a permanence for: (themes, operator of the procedure
# or None, equipment used), drawn with the programme's skew towards online
# procedures and rights.
SUPPORTS = [
    (["démarches en ligne", "impôts"], "impots.gouv", ["own_smartphone"]),
    (["droits et allocations"], "CAF", ["venue_computer"]),
    (["santé", "démarches en ligne"], "Ameli", ["own_smartphone"]),
    (["identité numérique"], "FranceConnect", ["own_smartphone"]),
    (["emploi"], "France Travail", ["venue_computer"]),
    (["énergie", "démarches en ligne"], "EDF", ["venue_tablet"]),
    (["smartphone"], None, ["own_smartphone"]),
    (["e-mail", "internet"], None, ["loaned_device"]),
    (["ordinateur"], None, ["venue_computer"]),
    (["bons usages", "internet"], None, ["venue_tablet"]),
    (["droits et allocations", "identité numérique"], "ANTS", ["own_smartphone"]),
]
AGE_BRACKETS = ["<26", "26-35", "36-45", "46-55", "56+"]

# The network's coordination time (programme-figures.md §5): (weeks from the
# first week, weekday, kind, title, organisations, attendees, minutes).
MEETINGS = [
    (0, 1, "steering_committee", "Comité de pilotage du contrat de ville",
     ["Ville de Chambéry", "Département de la Savoie", "CAF de la Savoie", "CCAS de Chambéry"],
     18, 150),
    (1, 3, "working_group", "Groupe de travail accès aux droits",
     ["CCAS de Chambéry", "CAF de la Savoie", "CPAM de la Savoie", "France Travail"], 9, 120),
    (2, 0, "technical_committee", "Comité technique du pass numérique",
     ["Ville de Chambéry", "Association Clic'Solidaire", "Centre social du Biollay"], 7, 90),
    (2, 4, "network", "Rencontre du réseau des lieux de médiation",
     ["Centre social des Hauts-de-Chambéry", "Centre socioculturel de Cognin",
      "Médiathèque Jean-Jacques Rousseau", "Bibliothèque de Bellevue",
      "Association Clic'Solidaire"], 16, 180),
    (3, 2, "professional_training", "Formation santé numérique des aidants",
     ["CPAM de la Savoie", "CCAS de La Ravoire", "Cristal Habitat"], 20, 210),
    (4, 1, "working_group", "Séance de travail : déploiement du pass numérique",
     ["Ville de Chambéry", "CCAS de Chambéry"], 5, 60),
]

# The programme's devices: (label prefix, kind, how many, venue keys in turn).
DEVICES = [
    ("Portable", "computer", 8, ["cs_hauts", "cs_biollay", "en_chantemerle", "csc_cognin"]),
    ("Tablette", "tablet", 8, ["cs_biollay", "mef_barby", "bib_bellevue", "ccas_ravoire"]),
]

# Age brackets of the funders' report, with the report's own skew (over 45 %
# are 56 or older). (lowest age, highest age, how many of the 48 residents);
# None: birth year not given.
AGE_PLAN = [(18, 25, 2), (26, 35, 6), (36, 45, 8), (46, 55, 8), (56, 88, 23), (None, None, 1)]
WOMEN = 35                    # of 48 residents: 73 %, as the report's 72 %

# Social workers for the ESJA training: (first, last, gender, structure).
PROFESSIONALS = [
    ("Hélène", "Rochas", "F", "CCAS de Chambéry"),
    ("Marion", "Gaillard", "F", "CCAS de La Ravoire"),
    ("Stéphanie", "Berthet", "F", "CPAM de la Savoie"),
    ("Audrey", "Vial", "F", "CARSAT Rhône-Alpes"),
    ("Lucie", "Carron", "F", "Bibliothèque de Bellevue"),
    ("Mélanie", "Domenge", "F", "Centre social du Biollay"),
    ("Océane", "Tissot", "F", "Centre social des Hauts-de-Chambéry"),
    ("Christelle", "Grosjean", "F", "CAF de la Savoie"),
    ("Agnès", "Veyrat", "F", "Cristal Habitat"),
    ("Damien", "Coudurier", "M", "France Travail"),
    ("Rachid", "Amrani", "M", "Centre socioculturel de Cognin"),
]

# Weekly workshop series: (title, theme, level, venue, trainer index in
# STAFF, weekday 0=Monday, start "HH:MM", minutes, popular?)
WORKSHOPS = [
    ("Démarches en ligne : impots.gouv, ameli, CAF", "démarches en ligne", 2,
     "cs_hauts", 1, 1, "14:00", 120, True),
    ("Identité numérique et FranceConnect", "identité numérique", 2,
     "cs_biollay", 2, 2, "09:30", 120, False),
    ("Prendre en main son smartphone", "smartphone", 1,
     "bib_bellevue", 3, 0, "14:00", 120, True),
    ("Naviguer sur internet", "internet", 1,
     "csc_cognin", 4, 3, "14:00", 120, False),
    ("Créer et utiliser sa boîte mail", "e-mail", 2,
     "ccas_ravoire", 1, 4, "09:30", 120, False),
    ("Premiers pas : souris et clavier", "souris et clavier", 1,
     "en_chantemerle", 2, 1, "09:30", 120, False),
    ("Se protéger des arnaques en ligne", "sécurité", 3,
     "media_alban", 3, 3, "09:30", 120, False),
]
WEEKS = 5          # two weeks back, this week, two weeks ahead
CAPACITY = 8

# Weekly permanences: (title, theme, venue, trainer, weekday, start, minutes)
PERMANENCES = [
    ("Permanence démarches en ligne", "démarches en ligne", "cs_biollay", 4, 3, "09:00", 180),
    ("Permanence numérique du Clos Gaillard", "démarches en ligne", "mef_barby", 3, 0,
     "09:00", 120),
]


# The pass numérique: (order, valid until, books of 5 passes, first pass), the
# books given to people (their index in the order, from 0) and the export.
PASS_ORDERS = [("2025", "2025-12-31", 40, "2500100001"), ("2026", "2026-12-31", 60, "2600100001")]
PASS_GIVEN = {"2025": list(range(12)), "2026": list(range(19)) + [30]}
PASS_EXPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                           "integration", "pass", "export-aptic-cp1252.csv")


class ApiError(Exception):
    pass


class Api:
    """A tiny JSON client. One connection per request: a POST is never
    silently resent on a connection the server had already closed."""

    def __init__(self, url, token):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "http" or not u.hostname:
            raise ApiError("URL must look like http://HOST:PORT, got %r" % url)
        self.host, self.port = u.hostname, u.port or 80
        self.token = token
        self.requests = 0

    def call(self, method, path, body=None, raw=None, ctype=None):
        headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif raw is not None:             # a file as it is (an import)
            data = raw
            headers["Content-Type"] = ctype
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
        except OSError as e:
            raise ApiError("%s %s: %s" % (method, path, e)) from e
        finally:
            conn.close()
        self.requests += 1
        if not 200 <= resp.status < 300:
            raise ApiError("%s %s\n  sent: %s\n  got %d: %s" % (
                method, path, json.dumps(body, ensure_ascii=False) if body is not None else "-",
                resp.status, payload.decode("utf-8", "replace")))
        if not payload:
            return None
        try:
            return json.loads(payload.decode())
        except ValueError as e:
            raise ApiError("%s %s: answer is not JSON: %r" % (method, path, payload[:200])) from e

    def post(self, path, body):
        return self.call("POST", path, body)

    def exists(self, path):
        """Whether GET PATH answers 2xx (a plugin's route is there)."""
        try:
            self.call("GET", path)
            return True
        except ApiError as e:
            if "\n  got 404:" in str(e):
                return False
            raise

    def get(self, path):
        return self.call("GET", path)

    def patch(self, path, body):
        return self.call("PATCH", path, body)


def rfc3339(t):
    return t.isoformat(timespec="seconds")


def parse_time(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def at(day, hhmm):
    """DAY (a date) at local HH:MM, as an aware datetime."""
    h, m = (int(x) for x in hhmm.split(":"))
    return dt.datetime(day.year, day.month, day.day, h, m, tzinfo=TZ)


def phone_number(rng, fmt):
    """A made-up French mobile number, written the way people type them."""
    prefix = rng.choice(["06", "07"])
    digits = prefix + "".join(str(rng.randrange(10)) for _ in range(8))
    pairs = [digits[i:i + 2] for i in range(0, 10, 2)]
    if fmt == 0:
        return " ".join(pairs)
    if fmt == 1:
        return digits
    if fmt == 2:
        return "+33 " + digits[1] + " " + " ".join(pairs[1:])
    return ".".join(pairs)


def ascii_fold(s):
    """"Élodie Da Silva" → "elodiedasilva", for made-up e-mail addresses."""
    bare = unicodedata.normalize("NFD", s.lower())
    return "".join(c for c in bare if c.isascii() and (c.isalnum() or c == "-"))


class Demo:
    def __init__(self, api):
        self.api = api
        self.rng = random.Random(SEED)
        self.venues = {}       # key -> id
        self.staff = []        # ids, in STAFF order
        self.residents = []    # ids
        self.people = {}       # id -> the body it was registered with
        self.pros = []         # ids
        self.orgs = {}         # name -> id
        self.devices = []      # ids
        self.accompaniments = 0
        self.loans = 0
        self.pix = 0
        self.sessions = []     # (kind, session object) of every workshop/permanence occurrence
        self.enrollments = 0
        self.marked = 0
        self.erased = 0
        self.now = dt.datetime.now(dt.timezone.utc)
        today = dt.datetime.now(TZ).date()
        self.monday = today - dt.timedelta(days=today.weekday())
        self.first_week = self.monday - dt.timedelta(weeks=2)

    # --- people and places ----------------------------------------------
    def load_venues(self):
        for n, (key, name, address, commune, hood, aptic, accessible) in enumerate(VENUES):
            body = {"name": name, "address": address, "commune": commune,
                    "neighborhood": hood, "aptic": aptic, "accessible": accessible}
            # Most places give a phone to call with a question (a landline
            # of the Savoie, 04 79 …), shown on the beneficiaries' pages.
            if n % 4 != 3:
                body["phone"] = "04 79 %02d %02d %02d" % (60 + n, 10 + 3 * n, 20 + 5 * n)
            v = self.api.post("/api/v1/venues", body)
            self.venues[key] = v["id"]

    def load_staff(self):
        for name, role, email, phone in STAFF:
            s = self.api.post("/api/v1/staff", {"name": name, "role": role,
                                                "email": email, "phone": phone})
            self.staff.append(s["id"])

    def load_residents(self):
        rng = self.rng
        year = dt.date.today().year
        ages = []
        for lo, hi, n in AGE_PLAN:
            ages += [None if lo is None else rng.randint(lo, hi) for _ in range(n)]
        rng.shuffle(ages)
        genders = ["F"] * WOMEN + ["M"] * (len(ages) - WOMEN)
        rng.shuffle(genders)
        communes = (["Chambéry"] * 10 + ["Barby", "Cognin", "La Ravoire", "La Ravoire",
                    "Jacob-Bellecombette", "Saint-Alban-Leysse", "La Motte-Servolex",
                    "Saint-Baldoph", "Barberaz"])
        used = set()
        overseas = {5: "0690 41 27 83", 17: "0692 63 18 40"}   # Guadeloupe, La Réunion
        for i, (age, gender) in enumerate(zip(ages, genders)):
            old = age is None or age >= 50
            if gender == "F":
                pool = FIRST_F_OLD if old else FIRST_F_YOUNG
            else:
                pool = FIRST_M_OLD if old else FIRST_M_YOUNG
            while True:
                first, last = rng.choice(pool), rng.choice(LAST)
                if (first, last) not in used:
                    used.add((first, last))
                    break
            commune = rng.choice(communes)
            # About one in six lives outside the priority neighbourhoods.
            hood = None if rng.random() < 0.16 else rng.choice(QPV[commune])
            body = {"first_name": first, "last_name": last, "gender": gender,
                    "commune": commune, "neighborhood": hood}
            if age is not None:
                body["birth_year"] = year - age
            if i in overseas:
                body["phone"] = overseas[i]
            elif rng.random() < 0.88:         # most have a mobile, few an e-mail
                body["phone"] = phone_number(rng, rng.randrange(4))
            if (age is not None and age < 56 and rng.random() < 0.5) or rng.random() < 0.12:
                body["email"] = "%s.%s@example.org" % (ascii_fold(first), ascii_fold(last))
            body["consent_sms"] = "phone" in body and rng.random() < 0.9
            body["consent_email"] = "email" in body and rng.random() < 0.8
            if rng.random() < 0.8:
                prescriber = rng.choice(PRESCRIBERS)
                body["prescriber"] = prescriber
                body["organisation_id"] = self.orgs[prescriber]
            # A QPV neighbourhood sets the residence from the territory of
            # the configuration; the others live outside the priority areas.
            if hood is None:
                body["residence"] = "outside"
            b = self.api.post("/api/v1/beneficiaries", body)
            self.residents.append(b["id"])
            self.people[b["id"]] = body

    def load_organisations(self):
        for name, kind, commune in ORGANISATIONS:
            o = self.api.post("/api/v1/organisations",
                              {"name": name, "kind": kind, "commune": commune})
            self.orgs[name] = o["id"]

    def load_professionals(self):
        """The ESJA trainees are professionals trained at work: they never
        count as residents; their organisation is their employer's (made
        from the name when the network does not have it yet)."""
        for n, (first, last, gender, structure) in enumerate(PROFESSIONALS, 1):
            body = {"first_name": first, "last_name": last, "gender": gender,
                    "email": "%s.%s@example.org" % (ascii_fold(first), ascii_fold(last)),
                    "consent_email": True, "audience": "professional",
                    "external_id": "ESJA-%02d" % n}
            if structure in self.orgs:
                body["organisation_id"] = self.orgs[structure]
            else:
                body["prescriber"] = structure
            b = self.api.post("/api/v1/beneficiaries", body)
            self.pros.append(b["id"])

    # --- the schedule -------------------------------------------------------
    def occurrences(self, first):
        """Every occurrence of the series whose first session is FIRST."""
        out = []
        for sid in first["occurrences"]:
            out.append(first if sid == first["id"] else
                       self.api.get("/api/v1/sessions/%d" % sid))
        return out

    def load_workshops(self):
        for title, theme, level, venue, trainer, wday, start, minutes, popular in WORKSHOPS:
            s = at(self.first_week + dt.timedelta(days=wday), start)
            first = self.api.post("/api/v1/sessions", {
                "kind": "workshop", "title": title, "theme": theme, "level": level,
                "venue_id": self.venues[venue], "trainer_id": self.staff[trainer],
                "starts_at": rfc3339(s), "ends_at": rfc3339(s + dt.timedelta(minutes=minutes)),
                "capacity": CAPACITY,
                "recurrence": {"freq": "weekly", "interval": 1, "count": WEEKS}})
            for occ in self.occurrences(first):
                self.sessions.append(("workshop", occ, popular))

    def load_permanences(self):
        for title, theme, venue, trainer, wday, start, minutes in PERMANENCES:
            s = at(self.first_week + dt.timedelta(days=wday), start)
            first = self.api.post("/api/v1/sessions", {
                "kind": "permanence", "title": title, "theme": theme,
                "venue_id": self.venues[venue], "trainer_id": self.staff[trainer],
                "starts_at": rfc3339(s), "ends_at": rfc3339(s + dt.timedelta(minutes=minutes)),
                "slot_minutes": 30,
                "recurrence": {"freq": "weekly", "count": WEEKS}})
            for occ in self.occurrences(first):
                self.sessions.append(("permanence", occ, False))

    def load_training(self):
        """ESJA as domain.md describes it: PIX self-assessment (45 min), a
        half-day workshop, four 30-minute online modules, a second half-day
        workshop and a 30-minute evaluation, over five weeks."""
        w = self.monday - dt.timedelta(weeks=1)

        def day(weeks, wday):
            return w + dt.timedelta(weeks=weeks, days=wday)

        def part(title, d, start, minutes, online):
            s = at(d, start)
            p = {"title": title, "starts_at": rfc3339(s),
                 "ends_at": rfc3339(s + dt.timedelta(minutes=minutes))}
            if online:
                p["online"] = True
            return p
        parts = [
            part("ESJA 1 · Autopositionnement PIX", day(0, 0), "10:00", 45, True),
            part("ESJA 2 · Atelier : repérer les difficultés numériques", day(0, 3),
                 "09:00", 210, False),
            part("ESJA 3 · Module en ligne : les démarches essentielles", day(1, 1),
                 "14:00", 30, True),
            part("ESJA 4 · Module en ligne : l'identité numérique", day(1, 4),
                 "14:00", 30, True),
            part("ESJA 5 · Module en ligne : accompagner sans faire à la place", day(2, 1),
                 "14:00", 30, True),
            part("ESJA 6 · Module en ligne : orienter vers les lieux de médiation", day(2, 4),
                 "14:00", 30, True),
            part("ESJA 7 · Atelier : mises en situation", day(3, 3), "09:00", 210, False),
            part("ESJA 8 · Évaluation", day(4, 1), "14:00", 30, True),
        ]
        t = self.api.post("/api/v1/sessions", {
            "kind": "training", "title": "Et si j'accompagnais (ESJA)",
            "theme": "accompagnement au numérique", "venue_id": self.venues["ccas_chambery"],
            "trainer_id": self.staff[1], "capacity": 12, "parts": parts})
        if len(t.get("parts", [])) != len(parts):
            raise ApiError("training answer lists %r parts, expected %d"
                           % (len(t.get("parts", [])), len(parts)))
        self.training = t

    def load_pix(self):
        """The ESJA trainees' Pix self-assessment (the training's first part),
        imported as Pix Orga exports it: a profile collection, the trainee's
        ESJA number as the campaign's external id."""
        day = parse_time(self.training["parts"][0]["starts_at"]).astimezone(TZ).date()
        cols = ["Nom de l'organisation", "ID Campagne", "Code", "Nom de la campagne",
                "Nom du Participant", "Prénom du Participant", "Identifiant ESJA",
                "Envoi (O/N)", "Date de l'envoi", "Nombre de pix total"]
        lines = [";".join('"%s"' % c for c in cols)]
        for n, (first, last, _, _) in enumerate(PROFESSIONALS, 1):
            sent = n <= 9          # two had not sent their results yet
            lines.append(";".join('"%s"' % c for c in [
                "Grand Chambéry", "48213", "ESJA%d" % day.year, "ESJA · autopositionnement",
                last, first, "ESJA-%02d" % n, "Oui" if sent else "Non",
                day.isoformat() if sent else "", str(self.rng.randint(90, 260)) if sent else ""]))
        out = self.api.call("POST", "/api/v1/imports/pix",
                            raw=("\ufeff" + "\r\n".join(lines) + "\r\n").encode(),
                            ctype="text/csv")
        self.pix = out["matched"]

    # --- enrollments and attendance ----------------------------------------
    def enroll(self, session_id, beneficiary_id, slot_start=None):
        body = {"beneficiary_id": beneficiary_id}
        if slot_start is not None:
            body["slot_start"] = slot_start
        e = self.api.post("/api/v1/sessions/%d/enrollments" % session_id, body)
        self.enrollments += 1
        return e

    def mark(self, enrollment_id):
        r = self.rng.random()
        status = "attended" if r < 0.80 else ("absent" if r < 0.93 else "excused")
        self.api.patch("/api/v1/enrollments/%d" % enrollment_id, {"status": status})
        self.marked += 1

    def is_past(self, session):
        return parse_time(session["ends_at"]) <= self.now

    def load_enrollments(self):
        rng = self.rng
        promoted = 0
        for kind, s, popular in self.sessions:
            booked = []
            if kind == "workshop":
                n = rng.randint(9, 11) if popular else rng.randint(3, 7)
                for b in rng.sample(self.residents, n):
                    e = self.enroll(s["id"], b)
                    if e["status"] == "booked":
                        booked.append(e["id"])
                # Once in a future full workshop: someone cancels, the first
                # person on the waitlist gets the place.
                if popular and not promoted and not self.is_past(s) and len(booked) == CAPACITY:
                    self.api.patch("/api/v1/enrollments/%d" % booked.pop(0),
                                   {"status": "cancelled"})
                    promoted += 1
            else:
                free = [slot["start"] for slot in s.get("slots", []) if slot["free"]]
                people = rng.sample(self.residents, 6)
                for slot in rng.sample(free, min(len(free), rng.randint(2, 4))):
                    booked.append(self.enroll(s["id"], people.pop(), slot)["id"])
                if rng.random() < 0.6:                       # a walk-in
                    e = self.enroll(s["id"], people.pop())
                    if e["status"] == "booked":
                        booked.append(e["id"])
            if self.is_past(s):
                for eid in booked:
                    self.mark(eid)

        # Everyone trained: enrolling in the training enrolls in every part.
        for b in self.pros:
            self.enroll(self.training["id"], b)
        for p in self.training["parts"]:
            if not self.is_past(p):
                continue
            page = self.api.get("/api/v1/sessions/%d/enrollments?limit=500" % p["id"])
            for e in page["items"]:
                if e["status"] == "booked":
                    self.mark(e["id"])

    def enroll_series(self):
        """Three residents enroll in every date still ahead of the
        smartphone workshop at once (POST /series/{id}/enrollments): one
        confirmation each for all of their dates, reminders for each."""
        for kind, s, _ in self.sessions:
            if kind == "workshop" and s["theme"] == "smartphone" and s.get("series_id"):
                series = s["series_id"]
                break
        else:
            return
        taken = set()
        for _, s, _ in self.sessions:
            if s.get("series_id") == series:
                page = self.api.get("/api/v1/sessions/%d/enrollments?limit=500" % s["id"])
                taken.update(e["beneficiary_id"] for e in page["items"])
        free = [b for b in self.residents if b not in taken]
        for b in self.rng.sample(free, min(3, len(free))):
            out = self.api.post("/api/v1/series/%d/enrollments" % series, {"beneficiary_id": b})
            self.enrollments += len(out["items"])

    def cancel_one(self):
        """The internet workshop of next week is cancelled (trainer away):
        shows a cancelled session, its reason and its notifications; and a
        permanence of the coming days, whose room will not be available."""
        for kind, s, _ in self.sessions:
            if kind == "workshop" and s["theme"] == "internet" and \
                    parse_time(s["starts_at"]) >= self.now + dt.timedelta(days=7):
                self.api.post("/api/v1/sessions/%d/cancel" % s["id"],
                              {"reason": "Animateur absent"})
                break
        for kind, s, _ in self.sessions:
            if kind == "permanence" and \
                    parse_time(s["starts_at"]) >= self.now + dt.timedelta(days=1):
                self.api.post("/api/v1/sessions/%d/cancel" % s["id"],
                              {"reason": "Salle indisponible"})
                return

    def erase_one(self):
        """A resident who moved away asks to be forgotten (right to erasure):
        her coming enrollments are cancelled (promoting the waitlists), her
        name and numbers wiped; the plugins erase what they keep of her in the
        same transaction, and could veto it (docs/architecture.md, "Domain
        events"). The anonymous counts of the report stay right."""
        self.api.call("DELETE", "/api/v1/beneficiaries/%d" % self.residents[-1])
        self.erased += 1

    # --- the pass numérique -------------------------------------------------
    def load_pass(self):
        """Two orders of books (numbered from their first pass), handed to
        distributors, one to each of 32 residents (2026-031's passes all spent,
        recorded by hand), eleven more 2026 books at a distributor (2026-020's
        was spent all the same: an anomaly), one support
        that cites a pass, and the platform's export as Excel leaves it: the
        console shows every status, the anomalies and the funders' table."""
        if not self.api.exists("/api/v1/pass/orders"):
            print("demo: the pass plugin is not loaded: no pass books", file=sys.stderr)
            self.pass_import = {"matched": 0, "unknown": 0, "errors": []}
            self.pass_books = 0
            return
        today = dt.datetime.now(TZ).date().isoformat()
        orgs = [self.orgs[n] for n in ("CCAS de Chambéry", "Centre social du Biollay",
                                       "Mission locale du bassin chambérien", "Cristal Habitat")]
        people = iter(self.residents)
        for order, valid, n, first in PASS_ORDERS:
            start = int(first)
            ids = self.api.post("/api/v1/pass/books", {
                "order": order, "valid_until": valid, "value_cents": 1000, "books": [
                    {"number": "%s-%03d" % (order, i + 1), "label": "Carnet %s n°%d" % (order, i + 1),
                     "first_pass": "%010d" % (start + 5 * i), "count": 5} for i in range(n)]})["ids"]
            given = list(PASS_GIVEN[order])
            waiting = list(range(19, 30)) if order == "2026" else []   # at a distributor
            for i in given + waiting:
                self.api.post("/api/v1/pass/books/%d/handover" % ids[i], {
                    "organisation_id": orgs[i % len(orgs)], "on": min(order + "-01-15", today)})
            for i in given:
                self.api.post("/api/v1/pass/books/%d/handover" % ids[i], {
                    "beneficiary_id": next(people), "on": min(order + "-01-20", today)})
        # 2026-031's five passes spent at the Biollay, recorded by hand: a book used up.
        for k in range(5):
            self.api.post("/api/v1/pass/scans", {
                "pass": "%010d" % (2600100151 + k), "venue_id": self.venues["cs_biollay"],
                "on": min("2026-10-%02d" % (6 + 5 * k), today), "level": 2,
                "service": "Démarches en ligne"})
        holder = self.api.get("/api/v1/pass/books?order=2026&limit=1")["items"][0]["holder"]
        self.api.post("/api/v1/accompaniments", {
            "beneficiary_id": holder["id"], "venue_id": self.venues["cs_biollay"],
            "minutes": 45, "themes": ["démarches en ligne", "impôts"], "pass": "2600100001",
            "started_at": rfc3339(min(dt.datetime(2026, 4, 10, 9, 30, tzinfo=TZ), self.now))})
        self.accompaniments += 1
        self.pass_books = sum(n for _, _, n, _ in PASS_ORDERS)
        with open(PASS_EXPORT, "rb") as f:
            self.pass_import = self.api.call("POST", "/api/v1/imports/aptic", raw=f.read(),
                                             ctype="text/csv")

    # --- the programme's records -------------------------------------------
    def load_records(self):
        """Accompaniments and walk-ins at the past permanences, supports by
        phone, the network's meetings, the devices, their loans and the
        sessions that used them."""
        rng = self.rng
        perms = [s for kind, s, _ in self.sessions if kind == "permanence" and self.is_past(s)]
        for s in perms:
            start = parse_time(s["starts_at"])
            booked = self.api.get("/api/v1/sessions/%d/enrollments?limit=500" % s["id"])
            for i, e in enumerate(x for x in booked["items"] if x["status"] == "attended"):
                self.accompany(s, start + dt.timedelta(minutes=30 * i),
                               {"beneficiary_id": e["beneficiary_id"]})
            for i in range(rng.randint(1, 3)):                # not registered
                self.accompany(s, start + dt.timedelta(minutes=20 + 25 * i), {"anonymous": {
                    "gender": "F" if rng.random() < 0.72 else "M",
                    "age_bracket": rng.choice(AGE_BRACKETS[1:] + ["56+", "56+"]),
                    "residence": "qpv" if rng.random() < 0.8 else "outside"}})
            self.api.call("PUT", "/api/v1/sessions/%d/headcount" % s["id"], {"counts": [
                {"gender": "F", "age_bracket": "56+", "residence": "qpv",
                 "n": rng.randint(1, 3)},
                {"gender": "M", "age_bracket": rng.choice(AGE_BRACKETS), "residence": "qpv",
                 "n": rng.randint(0, 2)},
                {"gender": "F", "age_bracket": rng.choice(AGE_BRACKETS[1:4]),
                 "residence": "outside", "n": rng.randint(0, 1)}]})
        # Supports by phone, by the coordinator, on days without permanence.
        for d in range(0, 14, 3):
            day = self.monday - dt.timedelta(days=14 - d)
            person = rng.choice(self.residents)
            themes, operator, _ = rng.choice(SUPPORTS)
            body = {"beneficiary_id": person, "staff_id": self.staff[0], "modality": "phone",
                    "started_at": rfc3339(at(day, "10:30")), "minutes": rng.choice([10, 15, 20]),
                    "themes": themes, "autonomy": rng.randint(1, 3)}
            if operator:
                body["procedure"] = {"operator": operator, "done": rng.random() < 0.5}
            self.api.post("/api/v1/accompaniments", body)
            self.accompaniments += 1
        for week, wday, kind, title, names, attendees, minutes in MEETINGS:
            self.api.post("/api/v1/meetings", {
                "kind": kind, "title": title,
                "date": (self.first_week + dt.timedelta(weeks=week, days=wday)).isoformat(),
                "organisation_ids": [self.orgs[n] for n in names], "attendees": attendees,
                "minutes": minutes})
        for prefix, kind, n, venues in DEVICES:
            for i in range(n):
                d = self.api.post("/api/v1/equipment", {
                    "kind": kind, "label": "%s %d" % (prefix, i + 1),
                    "venue_id": self.venues[venues[i % len(venues)]]})
                self.devices.append(d["id"])
        # Laptops lent to people without a computer: two back, three out.
        today = dt.datetime.now(TZ).date()
        for i, person in enumerate(rng.sample(self.residents, 5)):
            start = today - dt.timedelta(days=30 - 4 * i)
            loan = self.api.post("/api/v1/equipment/%d/loans" % self.devices[i], {
                "beneficiary_id": person, "from": start.isoformat(),
                "due": (start + dt.timedelta(days=28)).isoformat()})
            if i < 2:
                self.api.patch("/api/v1/loans/%d" % loan["id"],
                               {"returned_on": (start + dt.timedelta(days=21)).isoformat()})
            self.loans += 1
        # The tablets go to the past smartphone and internet workshops.
        tablets = self.devices[8:]
        for kind, s, _ in self.sessions:
            if kind == "workshop" and self.is_past(s) and s["theme"] in ("smartphone",
                                                                           "internet"):
                self.api.call("PUT", "/api/v1/sessions/%d/equipment" % s["id"],
                              {"equipment_ids": rng.sample(tablets, 4)})

    def accompany(self, session, when, who):
        themes, operator, equipment = self.rng.choice(SUPPORTS)
        body = dict(who, session_id=session["id"], staff_id=session["trainer_id"],
                    started_at=rfc3339(when), minutes=self.rng.choice([15, 20, 30, 30, 45]),
                    themes=themes, equipment=equipment, autonomy=self.rng.randint(1, 3))
        if operator:
            body["procedure"] = {"operator": operator, "done": self.rng.random() < 0.7}
        if operator == "CAF" and self.rng.random() < 0.5:
            body["referred_to"] = self.orgs["CAF de la Savoie"]
        self.api.post("/api/v1/accompaniments", body)
        self.accompaniments += 1

    def run(self):
        self.load_venues()
        self.load_staff()
        self.load_organisations()
        self.load_residents()
        self.load_professionals()
        self.load_workshops()
        self.load_permanences()
        self.load_training()
        self.load_enrollments()
        self.enroll_series()
        self.cancel_one()
        self.load_records()
        self.load_pix()
        self.load_pass()
        self.erase_one()
        print("demo: %d venues, %d staff, %d organisations, %d beneficiaries (%d erased), "
              "%d sessions + 1 training (%d parts), %d enrollments, %d attendances marked, "
              "%d accompaniments, %d meetings, %d devices, %d loans, %d trainees in a Pix export, "
              "%d pass books (%d passes imported, %d errors) (%d requests)" % (
                  len(self.venues), len(self.staff), len(self.orgs),
                  len(self.residents) + len(self.pros), self.erased, len(self.sessions),
                  len(self.training["parts"]), self.enrollments, self.marked,
                  self.accompaniments, len(MEETINGS), len(self.devices), self.loans,
                  self.pix, self.pass_books,
                  self.pass_import["matched"] + self.pass_import["unknown"],
                  len(self.pass_import["errors"]), self.api.requests))


def main(argv):
    if len(argv) != 3:
        print("usage: %s URL TOKEN" % argv[0], file=sys.stderr)
        return 2
    try:
        Demo(Api(argv[1], argv[2])).run()
    except ApiError as e:
        print("demo: failed: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
