#!/usr/bin/python3
"""load_projects.py: synthetic but valid projects for bench/mixed.py.

Run with Debian's /usr/bin/python3 (python3-grpcio, python3-protobuf). The
message classes come from tests/integration/harness.py, which runs protoc on
proto/ when imported.

What it gives
-------------
- `World.fetch(channels)`: the active entities and working groups of a seeded
  suite (their ids), read through ListEntities and ListWorkingGroups.
- `Maker(world, seed)`: builds varied projects (titles, summaries, groups,
  partners, countries, pillars, themes, dates, statuses) from a fixed
  vocabulary of counter-terrorism work, reproducibly for a given seed;
  `project(n)` for CreateProject, `draft()` for FindOverlaps.
- `load(stub, maker, target, in_flight)`: CreateProject until `target`
  projects exist, `in_flight` grpcio futures at a time; returns the new ids.

Every request is valid: a failure of any call is an error of the service.
"""

import os
import random
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402  (generates the message classes)

P = harness.pb("compact/projects/v1/projects.proto")
W = harness.pb("compact/workgroups/v1/workgroups.proto")
M = harness.membership_pb2

ORG_REF = "XM-BENCH"
# Real ISO 3166-1 alpha-2 codes of countries the Compact's work serves.
COUNTRIES = ("KE UG ET SO SD NG ML NE BF TD CM MR SN TN MA DZ LY EG JO LB IQ SY YE "
             "AF PK BD IN LK MV ID PH MY TH KZ KG TJ UZ TM MZ TZ").split()
SUBJECTS = ("terrorist travel", "border security", "aviation security", "API and PNR data",
            "countering the financing of terrorism", "prison management",
            "violent extremism in prisons", "youth engagement", "victims of terrorism",
            "critical infrastructure protection", "cybersecurity", "new technologies",
            "small arms and light weapons", "improvised explosive devices",
            "maritime security", "human rights compliance", "gender mainstreaming",
            "strategic communications", "rehabilitation and reintegration",
            "returning foreign terrorist fighters", "criminal justice responses",
            "legislative drafting", "biometrics", "watch lists", "chemical and biological "
            "terrorism", "soft target protection", "sport and security")
ACTIONS = ("Strengthening", "Building capacity for", "Regional workshops on",
           "Technical assistance on", "Training of trainers on", "Good practices for",
           "National action plans on", "Mentoring programme on", "Assessment of",
           "Legislative support for")
AUDIENCES = ("border agencies", "police and prosecutors", "civil society", "parliaments",
             "prison staff", "financial intelligence units", "judges", "youth leaders",
             "religious leaders", "national counter-terrorism centres", "airport operators",
             "local governments")
REGIONS = ("East Africa", "the Sahel", "the Lake Chad Basin", "Central Asia", "South Asia",
           "South-East Asia", "the Middle East", "North Africa", "the Horn of Africa",
           "West Africa")
VERBS = ("builds", "supports", "strengthens", "develops", "reviews", "delivers")
THEMES = ("API/PNR", "terrorist travel", "gender", "youth", "victims", "prisons", "CFT",
          "cyber", "drones", "weapons", "biometrics", "legislation", "human rights",
          "strategic communications", "critical infrastructure", "maritime")
STATUSES = ((P.ACTIVITY_STATUS_IMPLEMENTATION, 50), (P.ACTIVITY_STATUS_PIPELINE, 15),
            (P.ACTIVITY_STATUS_FINALISATION, 10), (P.ACTIVITY_STATUS_CLOSED, 20),
            (P.ACTIVITY_STATUS_SUSPENDED, 5))
ROLES = (P.ORGANISATION_ROLE_ACCOUNTABLE, P.ORGANISATION_ROLE_IMPLEMENTING,
         P.ORGANISATION_ROLE_FUNDING, P.ORGANISATION_ROLE_EXTENDING)


def _list_all(method, request_class, field, **filters):
    out, token = [], ""
    while True:
        rep = method(request_class(page_size=100, page_token=token, **filters))
        out.extend(getattr(rep, field))
        token = rep.next_page_token
        if not token:
            return out


class World:
    """Ids of the active entities and groups of a seeded suite, and the pillars
    each group serves (a project's pillars are drawn from its groups')."""

    def __init__(self, entities, groups):
        self.entities = entities            # [entity id]
        self.groups = groups                # [(group id, [pillar])]

    @classmethod
    def fetch(cls, membership_channel, workgroups_channel):
        mb = harness.Stub(membership_channel, harness.full_name("membership"))
        wg = harness.Stub(workgroups_channel, harness.full_name("workgroups"))
        ents = _list_all(mb.ListEntities, M.ListEntitiesRequest, "entities",
                         status=M.ENTITY_STATUS_ACTIVE)
        groups = _list_all(wg.ListWorkingGroups, W.ListWorkingGroupsRequest, "groups",
                           status=W.GROUP_STATUS_ACTIVE)
        if not ents or not groups:
            raise RuntimeError("no active entities or groups: was the suite seeded?")
        return cls([e.id for e in ents], [(g.id, list(g.pillars)) for g in groups])


class Maker:
    """Reproducible varied projects over a World."""

    def __init__(self, world, seed=1):
        self.world = world
        self.rnd = random.Random(seed)
        self.lock = threading.Lock()    # random.Random is not meant to be shared bare

    def _fields(self):
        r = self.rnd
        subject = r.choice(SUBJECTS)
        region = r.choice(REGIONS)
        title = "%s %s in %s" % (r.choice(ACTIONS), subject, region)
        summary = ("%s %s of %s in %s on %s, with %s.\nPhase %d of the %s work." % (
            r.choice(VERBS).capitalize(), "the capacity", r.choice(AUDIENCES), region,
            subject, r.choice(AUDIENCES), r.randint(1, 4), r.choice(SUBJECTS)))
        groups = r.sample(self.world.groups, r.choice((1, 1, 1, 2, 2, 3)))
        pillars = sorted({p for _, ps in groups for p in ps} or {P.STRATEGY_PILLAR_II})
        ents = r.sample(self.world.entities, r.randint(1, 5))
        parts = [P.Participant(entity_id=ents[0], role=r.choice(ROLES[:2]))]
        parts += [P.Participant(entity_id=e, role=r.choice(ROLES)) for e in ents[1:]]
        start_y = r.randint(2016, 2026)
        f = dict(title=title, summary=summary, working_group_ids=[g for g, _ in groups],
                 participants=parts, pillars=pillars,
                 themes=r.sample(THEMES, r.randint(0, 3)),
                 start_date="%d-%02d-01" % (start_y, r.randint(1, 12)),
                 end_date="%d-12-31" % (start_y + r.randint(0, 4)))
        if r.random() < 0.15:
            f["global_scope"] = True
        else:
            f["recipient_countries"] = r.sample(COUNTRIES, r.randint(1, 4))
        return f

    def project(self, n, tag="L"):
        """A CreateProject-ready project whose IATI id holds `tag` and `n`."""
        with self.lock:
            f = self._fields()
            status = self.rnd.choices([s for s, _ in STATUSES],
                                      [w for _, w in STATUSES])[0]
            budget = P.Money(currency="USD", amount_minor=self.rnd.randint(1, 500) * 10000000)
        return P.Project(iati_identifier="%s-%s%06d" % (ORG_REF, tag, n),
                         reporting_org_ref=ORG_REF, status=status, budget=budget, **f)

    def draft(self):
        """A project not saved, for FindOverlaps."""
        with self.lock:
            return P.Project(**self._fields())


def load(stub, maker, target, in_flight=32, first=0, timeout=60):
    """CreateProject for n in first..target-1 with `in_flight` futures at a
    time. Returns (ids, seconds). Raises on the first failed call."""
    ids, pending, n = [], [], first
    t0 = time.monotonic()
    while n < target or pending:
        while n < target and len(pending) < in_flight:
            req = P.CreateProjectRequest(project=maker.project(n))
            pending.append(stub.CreateProject.future(req, timeout=timeout))
            n += 1
        head = pending.pop(0)
        ids.append(head.result().project.id)   # raises grpc.RpcError on failure
    return ids, time.monotonic() - t0
