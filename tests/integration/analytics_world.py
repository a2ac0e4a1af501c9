"""analytics_world.py: writes through membership, workgroups and projects, and
the figures compact-analytics must show for them, computed here from what
the test wrote (never from analytics itself).

`World` makes the writes and keeps its own record of them: entities (affiliation,
participation, withdrawn), groups (code, pillars, open, leadership and members), projects
(groups, pillars, countries, participants, dates, status, budget) with a
ledger of every transaction recorded and the indicator states each report
must give. `Expect` turns that record (and the exchange rates put) into the
reply messages of compact.analytics.v1 (Overview, FundingBreakdown, ...)
following the proto's contract:

  - money in integer minor units per currency and stage; a transaction's
    stage is its type (pledge, commitment, funds, disbursement,
    expenditure); a catalytic commitment counts in committed and catalytic;
    the budget is a stage of its own, dated on the project's start;
  - US dollar cents at the rate valid on the transaction's date (the latest
    rate from on or before it, else the currency's earliest), rounded half
    away from zero; usd_complete false while an amount has no rate;
  - a project counts in every group and pillar it names; a filter keeps the
    projects that name its group and pillar and run in its year, and with
    a year only that year's money counts (the budget in the start year);
  - rows by US dollar equivalent committed, largest first, then by key.

Used by test_analytics.py and test_dashboard.py.
"""
import collections
import difflib
import json
import threading
import time
import urllib.error
import urllib.request

import grpc
from google.protobuf import field_mask_pb2

import harness
from harness import M, poll

A = harness.pb("compact/analytics/v1/analytics.proto")
P = harness.pb("compact/projects/v1/projects.proto")
W = harness.pb("compact/workgroups/v1/workgroups.proto")

ALL = ("membership", "workgroups", "projects", "analytics")
STREAMS = ("membership", "workgroups", "projects")

# compact.projects.v1.TransactionType -> stage index (Stages field order)
PLEDGED, COMMITTED, RECEIVED, DISBURSED, SPENT, CATALYTIC, BUDGET = range(7)
STAGE_OF_TYPE = {
    P.TRANSACTION_TYPE_INCOMING_PLEDGE: PLEDGED,
    P.TRANSACTION_TYPE_INCOMING_COMMITMENT: COMMITTED,
    P.TRANSACTION_TYPE_INCOMING_FUNDS: RECEIVED,
    P.TRANSACTION_TYPE_DISBURSEMENT: DISBURSED,
    P.TRANSACTION_TYPE_EXPENDITURE: SPENT,
}
MINOR_UNITS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "CHF": 2}
STATUS_LABELS = ["", "Pipeline", "Implementation", "Finalisation", "Closed", "Cancelled",
                 "Suspended"]
PILLAR_LABELS = ["", "I: conditions conducive to terrorism",
                 "II: preventing and combating terrorism",
                 "III: States' capacity and the UN's role",
                 "IV: human rights and the rule of law"]
BY_NAMES = {A.BREAKDOWN_BY_GROUP: "group", A.BREAKDOWN_BY_PILLAR: "pillar",
            A.BREAKDOWN_BY_ENTITY: "entity", A.BREAKDOWN_BY_DONOR: "donor",
            A.BREAKDOWN_BY_YEAR: "year"}
ACCOUNTABLE, IMPLEMENTING, FUNDING = (P.ORGANISATION_ROLE_ACCOUNTABLE,
                                      P.ORGANISATION_ROLE_IMPLEMENTING,
                                      P.ORGANISATION_ROLE_FUNDING)


# ---- money --------------------------------------------------------------------

def to_usd_cents(rates, currency, date, amount):
    """`amount` minor units of `currency` on `date` in US cents, or None (no
    rate). rates: [(currency, valid_from, usd_micros)]."""
    if currency == "USD":
        return amount
    mine = sorted((r for r in rates if r[0] == currency), key=lambda r: r[1])
    if not mine or currency not in MINOR_UNITS:
        return None
    rate = mine[0]
    for r in mine:
        if r[1] <= date:
            rate = r
    num = amount * rate[2] * 100
    den = 10 ** MINOR_UNITS[currency] * 10 ** 6
    q = (abs(num) + den // 2) // den
    return q if num >= 0 else -q


class Money:
    def __init__(self):
        self.cur = collections.defaultdict(lambda: [0] * 7)
        self.usd = [0] * 7
        self.unconverted = 0

    def put(self, rates, currency, date, stage, amount):
        self.cur[currency][stage] += amount
        usd = to_usd_cents(rates, currency, date, amount)
        if usd is None:
            self.unconverted += 1
        else:
            self.usd[stage] += usd

    def add(self, other):
        for c, v in other.cur.items():
            mine = self.cur[c]
            for k in range(7):
                mine[k] += v[k]
        for k in range(7):
            self.usd[k] += other.usd[k]
        self.unconverted += other.unconverted

    def empty(self):
        return not any(any(v) for v in self.cur.values()) and not any(self.usd) \
            and not self.unconverted

    def msg(self):
        m = A.Money(usd_complete=self.unconverted == 0)
        for c in sorted(self.cur):
            if any(self.cur[c]):
                m.by_currency.append(stages_msg(c, self.cur[c]))
        m.usd.CopyFrom(stages_msg("USD*", self.usd))
        return m


def stages_msg(currency, v):
    committed = v[COMMITTED]
    return A.Stages(currency=currency, pledged_minor=v[PLEDGED], committed_minor=committed,
                    received_minor=v[RECEIVED], disbursed_minor=v[DISBURSED],
                    spent_minor=v[SPENT], catalytic_minor=v[CATALYTIC],
                    budget_minor=v[BUDGET],
                    funding_gap_minor=max(v[BUDGET] - committed, 0),
                    delivery_rate=v[SPENT] / committed if committed > 0 else 0.0)


# ---- the record of writes -------------------------------------------------------

class Tx:
    def __init__(self, type_, currency, date, amount, donor, catalytic):
        self.stage = STAGE_OF_TYPE.get(type_)
        self.currency, self.date, self.amount = currency, date, amount
        self.donor, self.catalytic = donor, catalytic


class ProjectRec:
    def __init__(self, msg, spec):
        self.id = msg.id
        self.title = spec["title"]
        self.status = spec["status"]
        self.groups = list(spec["groups"])
        self.pillars = sorted(spec["pillars"])
        self.countries = list(spec["countries"])
        self.participants = list(spec["participants"])   # (entity id, role)
        self.start, self.end = spec["start"], spec.get("end", "")
        self.budget = spec.get("budget")                  # (currency, amount) or None
        self.txs = []
        self.indicators = {}                              # indicator id -> state
        self.seq = 1
        self.lock = threading.Lock()

    @property
    def start_year(self):
        return int(self.start[:4])

    @property
    def end_year(self):
        return int(self.end[:4]) if self.end else 9999

    def counts(self):
        states = list(self.indicators.values())
        return (states.count(P.INDICATOR_STATE_ON_TRACK),
                states.count(P.INDICATOR_STATE_OFF_TRACK),
                sum(1 for s in states if s not in (P.INDICATOR_STATE_ON_TRACK,
                                                   P.INDICATOR_STATE_OFF_TRACK)))


class World:
    """Writes through the three source services; keeps what it wrote."""

    def __init__(self, suite):
        self.suite = suite
        self.mb = suite.stub("membership")
        self.wg = suite.stub("workgroups")
        self.ps = suite.stub("projects")
        self.entities = {}       # acronym -> Entity (latest)
        self.withdrawn = set()   # acronyms
        self.groups = {}         # code -> WorkingGroup (latest)
        self.closed = set()      # codes
        self.projects = {}       # key -> ProjectRec
        self.rates = []          # (currency, valid_from, usd_micros)
        self.lock = threading.Lock()

    # -- membership
    def entity(self, acronym, affiliation=M.AFFILIATION_UN_SYSTEM,
               role=M.PARTICIPATION_ROLE_MEMBER, since="2018-02-23"):
        e = harness.create(self.mb, acronym, affiliation=affiliation, joined_on="",
                           participation=[M.Participation(role=role, from_date=since)])
        self.entities[acronym] = e
        return e

    def eid(self, acronym):
        return self.entities[acronym].id

    def withdraw(self, acronym):
        self.entities[acronym] = self.mb.WithdrawEntity(
            M.WithdrawEntityRequest(id=self.eid(acronym)))
        self.withdrawn.add(acronym)

    # -- workgroups
    def group(self, code, title, pillars, chair=None, vices=(), members=(), observers=()):
        g = self.wg.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
            code=code, title=title, pillars=list(pillars))))
        if chair:
            g = self.wg.SetLeadership(W.SetLeadershipRequest(group_id=g.id, leadership=(
                W.Leadership(chair_entity_id=self.eid(chair),
                             vice_chair_entity_ids=[self.eid(v) for v in vices]))))
        for acr in members:
            g = self.wg.AddMember(W.AddMemberRequest(group_id=g.id, entity_id=self.eid(acr),
                                                     role=W.MEMBER_ROLE_MEMBER))
        for acr in observers:
            g = self.wg.AddMember(W.AddMemberRequest(group_id=g.id, entity_id=self.eid(acr),
                                                     role=W.MEMBER_ROLE_OBSERVER))
        self.groups[code] = g
        return g

    def gid(self, code):
        return self.groups[code].id

    def close_group(self, code):
        g = self.wg.UpdateWorkingGroup(W.UpdateWorkingGroupRequest(
            group=W.WorkingGroup(id=self.gid(code), status=W.GROUP_STATUS_CLOSED),
            update_mask=field_mask_pb2.FieldMask(paths=["status"])))
        self.groups[code] = g
        self.closed.add(code)

    # -- projects
    def project(self, key, title, groups, pillars, participants, countries=(), start="2024-01-01",
                end="2025-12-31", status=P.ACTIVITY_STATUS_IMPLEMENTATION, budget=None,
                summary="", themes=(), indicators=()):
        """participants: (acronym, role); budget: (currency, minor);
        indicators: titles of UNIT indicators (one result)."""
        spec = dict(title=title, status=status, groups=[self.gid(g) for g in groups],
                    pillars=pillars, countries=countries,
                    participants=[(self.eid(a), r) for a, r in participants],
                    start=start, end=end, budget=budget)
        msg = P.Project(
            iati_identifier="XM-TEST-" + key, reporting_org_ref="XM-TEST", title=title,
            summary=summary, themes=list(themes), working_group_ids=spec["groups"],
            participants=[P.Participant(entity_id=e, role=r) for e, r in spec["participants"]],
            recipient_countries=list(countries), global_scope=not countries,
            pillars=list(pillars), start_date=start, end_date=end, status=status)
        if budget:
            msg.budget.CopyFrom(P.Money(currency=budget[0], amount_minor=budget[1]))
        if indicators:
            msg.results.append(P.Result(type=P.RESULT_TYPE_OUTPUT, title="Outputs of " + key,
                                        indicators=[P.Indicator(
                                            title=t, measure=P.INDICATOR_MEASURE_UNIT)
                                            for t in indicators]))
        rep = self.ps.CreateProject(P.CreateProjectRequest(project=msg))
        rec = ProjectRec(rep.project, spec)
        for r in rep.project.results:
            for i in r.indicators:
                rec.indicators[i.id] = P.INDICATOR_STATE_NO_DATA
        with self.lock:
            self.projects[key] = rec
        return rep

    def indicator_ids(self, key):
        return list(self.projects[key].indicators)

    def record(self, key, type_, amount, currency="USD", date="2024-03-01", donor=None,
               catalytic=False):
        """donor: an acronym (provider_entity_id) or "name:<text>" or None."""
        rec = self.projects[key]
        kw = {}
        if donor and donor.startswith("name:"):
            kw["provider_name"] = donor[5:]
            dkey = donor
        elif donor:
            kw["provider_entity_id"] = self.eid(donor)
            dkey = self.eid(donor)
        else:
            dkey = "unknown"
        with rec.lock:
            rep = self.ps.RecordTransaction(P.RecordTransactionRequest(
                project_id=rec.id, transaction=P.Transaction(
                    type=type_, date=date, catalytic=catalytic,
                    value=P.Money(currency=currency, amount_minor=amount), **kw)))
            rec.txs.append(Tx(type_, currency, date, amount, dkey, catalytic))
            rec.seq += 1
        return rep

    def report(self, key, indicator_id, target, actual, want_state, start="2024-01-01",
               end="2024-12-31"):
        rec = self.projects[key]
        kw = {}
        if target is not None:
            kw["target"] = P.IndicatorValue(value=target)
        if actual is not None:
            kw["actual"] = P.IndicatorValue(value=actual)
        with rec.lock:
            rep = self.ps.ReportIndicatorValue(P.ReportIndicatorValueRequest(
                project_id=rec.id, indicator_id=indicator_id, period_start=start,
                period_end=end, **kw))
            rec.seq += 1
        got = [i.state for r in rep.results for i in r.indicators if i.id == indicator_id][0]
        assert got == want_state, (indicator_id, got, want_state)
        rec.indicators[indicator_id] = want_state
        return rep

    def put_rate(self, an, currency, valid_from, micros, note="test"):
        rep = an.PutExchangeRate(A.PutExchangeRateRequest(rate=A.ExchangeRate(
            currency=currency, valid_from=valid_from, usd_micros=micros, source_note=note)))
        self.rates = [r for r in self.rates if (r[0], r[1]) != (currency, valid_from)]
        self.rates.append((currency, valid_from, micros))
        return rep

    def events_written(self):
        """Entries in the three source streams now (Redis)."""
        return sum(len(self.suite.stream(s)) for s in STREAMS)


def role_on(entity, day):
    """The entity's ParticipationRole on `day` (YYYY-MM-DD), 0 if none."""
    for p in entity.participation:
        if p.from_date <= day and (not p.to_date or day < p.to_date):
            return p.role
    return 0


def build_basic(world):
    """The standard world: six entities (one withdrawn), three groups (one
    closed), four projects in USD and EUR with donors, catalytic money,
    budgets, indicators on and off track, countries and a global project,
    and two near-identical projects (an alert)."""
    w = world
    w.entity("UNOCT")
    w.entity("UNODC")
    w.entity("INTERPOL", affiliation=M.AFFILIATION_NON_UN)
    w.entity("WCO", affiliation=M.AFFILIATION_NON_UN)
    w.entity("OSCE", affiliation=M.AFFILIATION_NON_UN, role=M.PARTICIPATION_ROLE_OBSERVER)
    w.entity("UNICRI")
    w.group("BMLE", "Border management and law enforcement relating to counter-terrorism",
            (2, 3), chair="UNOCT", vices=("INTERPOL",), members=("UNODC", "WCO"),
            observers=("OSCE",))
    w.group("PCVE", "Preventing and countering violent extremism conducive to terrorism", (1,),
            chair="UNODC", vices=("UNOCT", "UNICRI"), members=("INTERPOL",))
    w.group("OLD", "A group that was closed", (4,), chair="UNICRI", vices=("UNODC",))
    travel_summary = ("Builds the capacity of border agencies to collect and analyse Advance "
                      "Passenger Information and Passenger Name Record data to detect "
                      "terrorist travel.")
    w.project("TRAVEL-1", "Countering terrorist travel: API and PNR systems in East Africa",
              ("BMLE",), (2, 3), (("UNOCT", ACCOUNTABLE), ("INTERPOL", IMPLEMENTING),
                                  ("WCO", FUNDING)),
              countries=("KE", "UG"), start="2023-06-01", end="2025-12-31",
              budget=("USD", 150000000), summary=travel_summary,
              themes=("API/PNR", "terrorist travel"),
              indicators=("Passenger information units", "Trained officers",
                          "Cases referred"))
    w.project("TRAVEL-2", "Countering terrorist travel: API and PNR systems in East Africa",
              ("BMLE",), (2, 3), (("UNOCT", ACCOUNTABLE), ("INTERPOL", IMPLEMENTING)),
              countries=("KE", "UG"), start="2024-01-01", end="2025-12-31",
              summary=travel_summary, themes=("API/PNR", "terrorist travel"))
    w.project("PCVE-YOUTH", "Youth resilience against violent extremism in the Sahel",
              ("PCVE", "BMLE"), (1,), (("UNODC", ACCOUNTABLE), ("UNICRI", IMPLEMENTING)),
              countries=("ML", "NE"), start="2024-01-01", end="",
              status=P.ACTIVITY_STATUS_PIPELINE, budget=("EUR", 80000000),
              indicators=("Youth reached",))
    w.project("GLOBAL-HR", "Human rights compliant counter-terrorism: global guidance",
              ("PCVE",), (4, 1), (("UNICRI", ACCOUNTABLE),), countries=(),
              start="2022-01-01", end="2023-12-31", status=P.ACTIVITY_STATUS_FINALISATION,
              budget=("USD", 2500000))
    # money, in two currencies, from entities and from named donors
    R = w.record
    R("TRAVEL-1", P.TRANSACTION_TYPE_INCOMING_PLEDGE, 90000000, donor="name:Qatar",
      date="2023-07-01")
    R("TRAVEL-1", P.TRANSACTION_TYPE_INCOMING_COMMITMENT, 60000000, donor="name:Qatar",
      date="2023-08-15")
    R("TRAVEL-1", P.TRANSACTION_TYPE_INCOMING_COMMITMENT, 12345678, donor="UNOCT",
      catalytic=True, date="2024-02-01")
    R("TRAVEL-1", P.TRANSACTION_TYPE_INCOMING_FUNDS, 40000000, donor="name:Qatar",
      date="2024-01-10")
    R("TRAVEL-1", P.TRANSACTION_TYPE_DISBURSEMENT, 25000000, date="2024-03-01")
    R("TRAVEL-1", P.TRANSACTION_TYPE_EXPENDITURE, 17500050, date="2024-06-30")
    R("TRAVEL-1", P.TRANSACTION_TYPE_INCOMING_COMMITMENT, 3333333, currency="EUR",
      donor="name:European Union", date="2024-05-20")
    R("PCVE-YOUTH", P.TRANSACTION_TYPE_INCOMING_COMMITMENT, 50000001, currency="EUR",
      donor="name:European Union", date="2024-02-29")
    R("PCVE-YOUTH", P.TRANSACTION_TYPE_INCOMING_PLEDGE, 1000005, currency="EUR",
      donor="name:Germany", date="2025-01-15")
    R("PCVE-YOUTH", P.TRANSACTION_TYPE_EXPENDITURE, 2000000, currency="EUR",
      date="2025-03-31")
    R("GLOBAL-HR", P.TRANSACTION_TYPE_INCOMING_COMMITMENT, 2000000, donor="name:Switzerland",
      date="2022-03-01")
    R("GLOBAL-HR", P.TRANSACTION_TYPE_EXPENDITURE, 1999999, date="2023-11-30")
    R("TRAVEL-2", P.TRANSACTION_TYPE_INCOMING_COMMITMENT, 700000, donor="UNOCT",
      catalytic=True, date="2024-04-01")
    ids = w.indicator_ids("TRAVEL-1")
    w.report("TRAVEL-1", ids[0], 10, 9, P.INDICATOR_STATE_ON_TRACK)
    w.report("TRAVEL-1", ids[1], 200, 50, P.INDICATOR_STATE_OFF_TRACK)
    w.report("TRAVEL-1", ids[2], 20, None, P.INDICATOR_STATE_NO_DATA)
    yid = w.indicator_ids("PCVE-YOUTH")[0]
    w.report("PCVE-YOUTH", yid, 1000, 100, P.INDICATOR_STATE_OFF_TRACK)
    w.withdraw("WCO")
    w.close_group("OLD")
    return w


# ---- the expected figures ----------------------------------------------------------

class Fig:
    def __init__(self):
        self.projects = 0
        self.by_status = [0] * 7
        self.money = Money()
        self.rows = {k: {} for k in ("group", "pillar", "entity", "donor", "year")}
        self.cover = {}          # (country, pillar) -> [projects, committed usd]
        self.ind = [0, 0, 0]


class Row:
    def __init__(self):
        self.projects = 0
        self.money = Money()
        self.ind = [0, 0, 0]


class Expect:
    """The replies analytics owes for `world` (see the module comment)."""

    def __init__(self, world):
        self.w = world

    # -- the filter
    @staticmethod
    def keeps(p, year=0, group="", pillar=0):
        return ((not group or group in p.groups) and (not pillar or pillar in p.pillars) and
                (not year or p.start_year <= year <= p.end_year))

    def project_money(self, p, year=0):
        """(all money, {year: money}, {(donor, year): money}) of project p."""
        rates = self.w.rates
        total, years, donors = Money(), collections.defaultdict(Money), \
            collections.defaultdict(Money)
        for t in p.txs:
            if t.stage is None:
                continue
            y = int(t.date[:4])
            for m in (total, years[y], donors[(t.donor, y)]):
                m.put(rates, t.currency, t.date, t.stage, t.amount)
                if t.catalytic and t.stage == COMMITTED:
                    m.put(rates, t.currency, t.date, CATALYTIC, t.amount)
        if p.budget:
            for m in (total, years[p.start_year]):
                m.put(rates, p.budget[0], p.start, BUDGET, p.budget[1])
        if year:
            years = {y: m for y, m in years.items() if y == year}
            donors = {k: m for k, m in donors.items() if k[1] == year}
            total = years.get(year, Money())
        return total, years, donors

    def figures(self, year=0, group="", pillar=0):
        fig = Fig()
        for p in self.w.projects.values():
            if not self.keeps(p, year, group, pillar):
                continue
            m, years, donors = self.project_money(p, year)
            on, off, nodata = p.counts()
            fig.projects += 1
            fig.by_status[p.status] += 1
            fig.money.add(m)
            fig.ind = [fig.ind[0] + on, fig.ind[1] + off, fig.ind[2] + nodata]

            def row(kind, key, money=None, count=True):
                r = fig.rows[kind].setdefault(key, Row())
                if count:
                    r.projects += 1
                    r.ind = [r.ind[0] + on, r.ind[1] + off, r.ind[2] + nodata]
                if money is not None:
                    r.money.add(money)
            for g in p.groups:
                row("group", g, m)
            for k in p.pillars:
                row("pillar", str(k), m)
            for e, _role in p.participants:
                row("entity", e)
            for e, role in p.participants:
                if role in (ACCOUNTABLE, IMPLEMENTING):
                    row("entity", e, m, count=False)
            for y, ym in years.items():
                row("year", "%04d" % y, ym)
            for (d, _y), dm in donors.items():
                row("donor", d, dm, count=False)
            for c in (p.countries or [""]):
                for k in p.pillars:
                    cell = fig.cover.setdefault((c, k), [0, 0])
                    cell[0] += 1
                    cell[1] += m.usd[COMMITTED]
        return fig

    # -- labels
    def entity_by_id(self):
        return {e.id: e for e in self.w.entities.values()}

    def group_by_id(self):
        return {g.id: g for g in self.w.groups.values()}

    def label(self, by, key):
        if by == A.BREAKDOWN_BY_GROUP:
            g = self.group_by_id().get(key)
            return g.code if g else key
        if by == A.BREAKDOWN_BY_PILLAR:
            return PILLAR_LABELS[int(key)]
        if by in (A.BREAKDOWN_BY_ENTITY, A.BREAKDOWN_BY_DONOR):
            e = self.entity_by_id().get(key)
            if e:
                return e.acronym
            return key[5:] if key.startswith("name:") else key
        return key

    @staticmethod
    def filter_msg(year=0, group="", pillar=0):
        return A.Filter(year=year, working_group_id=group, pillar=pillar)

    # -- the replies (freshness left empty: the caller clears the reply's)
    def overview(self, year=0, group="", pillar=0):
        fig = self.figures(year, group, pillar)
        # Those taking part today (UTC), by their role today and their
        # affiliation (a withdrawal ends the open period that day).
        day = time.strftime("%Y-%m-%d", time.gmtime())
        roles = [(role_on(e, day), e.affiliation) for a, e in self.w.entities.items()
                 if a not in self.w.withdrawn]
        roles = [(r, af) for r, af in roles if r]
        o = A.Overview(filter=self.filter_msg(year, group, pillar))
        o.entities = len(roles)
        o.members = sum(r == M.PARTICIPATION_ROLE_MEMBER for r, _ in roles)
        o.observers = sum(r == M.PARTICIPATION_ROLE_OBSERVER for r, _ in roles)
        o.un_entities = sum(af == M.AFFILIATION_UN_SYSTEM for _, af in roles)
        o.non_un_entities = sum(af == M.AFFILIATION_NON_UN for _, af in roles)
        o.working_groups = sum(1 for c in self.w.groups if c not in self.w.closed)
        o.projects = fig.projects
        for s in range(1, 7):
            o.projects_by_status.append(A.Count(key=str(s), label=STATUS_LABELS[s],
                                                count=fig.by_status[s]))
        o.money.CopyFrom(fig.money.msg())
        c = fig.money.usd[COMMITTED]
        o.catalytic_share = fig.money.usd[CATALYTIC] / c if c > 0 else 0.0
        return o

    def funding(self, by, year=0, group="", pillar=0):
        fig = self.figures(year, group, pillar)
        rows = fig.rows[BY_NAMES[by]]
        out = A.FundingBreakdown(by=by, filter=self.filter_msg(year, group, pillar))
        msgs = []
        for key, r in rows.items():
            if by == A.BREAKDOWN_BY_PILLAR and not r.projects:
                continue
            msgs.append(A.BreakdownRow(key=key, label=self.label(by, key), projects=r.projects,
                                       money=r.money.msg()))
        msgs.sort(key=lambda r: (-r.money.usd.committed_minor, r.key))
        out.rows.extend(msgs)
        return out

    def participation(self, year=0, group="", pillar=0):
        fig = self.figures(year, group, pillar)
        out = A.Participation(filter=self.filter_msg(year, group, pillar))
        groups = [g for g in self.w.groups.values() if not group or g.id == group]
        cells = []
        for g in sorted(groups, key=lambda g: g.code):
            out.groups.append(A.GroupLabel(id=g.id, code=g.code, title=g.title))
            if g.HasField("leadership") and g.leadership.chair_entity_id:
                cells.append((g.leadership.chair_entity_id, g.id, A.ROLE_CHAIR))
                cells += [(v, g.id, A.ROLE_VICE_CHAIR) for v in g.leadership.vice_chair_entity_ids]
            cells += [(m.entity_id, g.id, A.ROLE_OBSERVER if m.role == W.MEMBER_ROLE_OBSERVER
                       else A.ROLE_MEMBER) for m in g.members]
        out.cells.extend(A.ParticipationCell(entity_id=e, working_group_id=g, role=r)
                         for e, g, r in cells)
        for e in sorted(self.w.entities.values(), key=lambda e: e.acronym):
            row = fig.rows["entity"].get(e.id)
            out.entities.append(A.EntityParticipation(
                entity_id=e.id, acronym=e.acronym, groups=sum(c[0] == e.id for c in cells),
                projects=row.projects if row else 0))
        return out

    def coverage(self, year=0, group="", pillar=0):
        fig = self.figures(year, group, pillar)
        out = A.Coverage(filter=self.filter_msg(year, group, pillar))
        for (c, k) in sorted(fig.cover):
            n, usd = fig.cover[(c, k)]
            cell = A.CoverageCell(country=c, pillar=k, projects=n, committed_usd_minor=usd)
            # "global" is a Python keyword: the field is reached with getattr
            (out.cells if c else getattr(out, "global")).append(cell)
        return out

    def monitoring(self, year=0, group="", pillar=0):
        fig = self.figures(year, group, pillar)
        out = A.Monitoring(filter=self.filter_msg(year, group, pillar))
        out.total.CopyFrom(A.IndicatorCounts(key="", label="All", on_track=fig.ind[0],
                                             off_track=fig.ind[1], no_data=fig.ind[2]))
        gl = self.group_by_id()
        for key in sorted(fig.rows["group"]):
            r = fig.rows["group"][key]
            out.by_group.append(A.IndicatorCounts(key=key, label=gl[key].code, on_track=r.ind[0],
                                                  off_track=r.ind[1], no_data=r.ind[2]))
        ps = []
        for p in self.w.projects.values():
            on, off, nodata = p.counts()
            if on + off + nodata and self.keeps(p, year, group, pillar):
                ps.append(A.IndicatorCounts(key=p.id, label=p.title, on_track=on, off_track=off,
                                            no_data=nodata))
        ps.sort(key=lambda c: (-c.off_track, -c.no_data, c.label))
        out.by_project.extend(ps)
        return out


# ---- asking analytics -------------------------------------------------------------

FILTERED = ("GetOverview", "GetParticipation", "GetCoverage", "GetMonitoring")


def ask_all(an, year=0, group="", pillar=0, alerts_limit=0, months=0):
    """Every question analytics answers, for one filter: {name: reply}."""
    f = A.Filter(year=year, working_group_id=group, pillar=pillar)
    out = {
        "overview": an.GetOverview(A.GetOverviewRequest(filter=f)),
        "participation": an.GetParticipation(A.GetParticipationRequest(filter=f)),
        "coverage": an.GetCoverage(A.GetCoverageRequest(filter=f)),
        "monitoring": an.GetMonitoring(A.GetMonitoringRequest(filter=f)),
        "alerts": an.ListDuplicationAlerts(A.ListDuplicationAlertsRequest(
            filter=f, limit=alerts_limit)),
        "activity": an.GetActivity(A.GetActivityRequest(months=months)),
    }
    for by in BY_NAMES:
        out["funding:" + BY_NAMES[by]] = an.GetFundingBreakdown(
            A.GetFundingBreakdownRequest(by=by, filter=f))
    return out


def without_freshness(msg):
    """A copy of a reply without its freshness, and with the participation
    cells in one order (the proto promises none)."""
    m = type(msg)()
    m.CopyFrom(msg)
    if m.DESCRIPTOR.fields_by_name.get("freshness") is not None:
        m.ClearField("freshness")
    if isinstance(m, A.Participation):
        cells = sorted(m.cells, key=lambda c: (c.working_group_id, c.entity_id, c.role))
        cells = [A.ParticipationCell().__class__.FromString(c.SerializeToString())
                 for c in cells]
        del m.cells[:]
        m.cells.extend(cells)
    return m


def expected_all(exp, year=0, group="", pillar=0):
    """The expected replies of ask_all (alerts and activity left out: they
    are checked on their own)."""
    out = {
        "overview": exp.overview(year, group, pillar),
        "participation": exp.participation(year, group, pillar),
        "coverage": exp.coverage(year, group, pillar),
        "monitoring": exp.monitoring(year, group, pillar),
    }
    for by in BY_NAMES:
        out["funding:" + BY_NAMES[by]] = exp.funding(by, year, group, pillar)
    return out


def diff(want, got):
    """'' when every expected reply equals the one got (freshness aside),
    else a readable account of the first differences."""
    lines = []
    for name, w in want.items():
        g = without_freshness(got[name])
        w = without_freshness(w)
        if g != w:
            lines.append("== %s (- want, + got)\n%s" % (name, "\n".join(difflib.unified_diff(
                str(w).splitlines(), str(g).splitlines(), lineterm="", n=2))))
    return "\n".join(lines)


def converge(fn, timeout=None, what="analytics to converge"):
    """Polls fn() -> '' (done) or a text saying what still differs; fails
    with the last text when the bound passes (a bound against hangs)."""
    last = ["(never asked)"]

    def ok():
        last[0] = fn()
        return last[0] == ""
    try:
        poll(ok, timeout=timeout or 60 * harness.SLOW, what=what, interval=0.2)
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, last[0])) from None


def wait_figures(world, an, filters=({},), timeout=None):
    """Waits until every reply equals the expectation, for each filter."""
    exp = Expect(world)

    def check():
        out = []
        for f in filters:
            try:
                got = ask_all(an, **f)
            except grpc.RpcError as e:
                # NOT_FOUND: a group filter asked before the group's event
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                out.append("filter %r: %s %s" % (f, e.code(), e.details()))
                continue
            d = diff(expected_all(exp, **f), got)
            if d:
                out.append("filter %r:\n%s" % (f, d))
        return "\n".join(out)
    converge(check, timeout)


def wait_consuming(an, timeout=None):
    """Waits until analytics has set up its consumer group on every stream
    (sources_reachable): a new store starts from the streams' ends, so
    writes made before that reach it by the first rebuild, not as events."""
    poll(lambda: an.GetOverview(A.GetOverviewRequest()).freshness.sources_reachable,
         timeout=timeout, what="analytics reading the streams", interval=0.05)


def activity_expected(suite, months=24):
    """{month: {event type: count}} of the source streams' entries now."""
    counts = collections.defaultdict(collections.Counter)
    for s in STREAMS:
        for _eid, f in suite.stream(s):
            ev = harness.decode_event(f)
            month = time.strftime("%Y-%m", time.gmtime(ev.occur_time.seconds))
            counts[month][ev.type] += 1
    return counts


def activity_counts(reply):
    return {m.month: {c.key: c.count for c in m.by_kind} for m in reply.months if m.by_kind}


def metrics(url):
    """{name: value} of the unlabelled samples of GET url (Prometheus text)."""
    with urllib.request.urlopen(url, timeout=harness.CALL_TIMEOUT) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip() or "{" in line:
            continue
        name, value = line.split()[:2]
        out[name] = float(value)
    return out


def http_get(url, method="GET", timeout=None):
    """(status, content type, body bytes) of one request; HTTP errors too."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout or harness.CALL_TIMEOUT) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def http_json(url):
    status, ctype, body = http_get(url)
    assert status == 200, (url, status, body)
    assert ctype.startswith("application/json"), (url, ctype)
    return json.loads(body)


# ---- a burst of writes --------------------------------------------------------------

class Burst:
    """A thread that writes through the sources until stopped: transactions
    (USD and EUR, three years, named and entity donors) on the world's
    projects, and now and then an entity. Every write is recorded in the
    world only once the source acknowledged it; a failed write fails the
    test (the sources keep working without Redis and without analytics)."""

    TYPES = (P.TRANSACTION_TYPE_INCOMING_PLEDGE, P.TRANSACTION_TYPE_INCOMING_COMMITMENT,
             P.TRANSACTION_TYPE_INCOMING_FUNDS, P.TRANSACTION_TYPE_DISBURSEMENT)

    def __init__(self, world, keys, tag="B"):
        self.w, self.keys, self.tag = world, list(keys), tag
        self.done = 0
        self.error = None
        self._stop = threading.Event()
        self._cv = threading.Condition()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _write(self, i):
        key = self.keys[i % len(self.keys)]
        if i % 25 == 24:
            self.w.entity(self.tag + "".join(chr(65 + d) for d in (i // 676 % 26,
                                                                   i // 26 % 26, i % 26)))
            return
        self.w.record(key, self.TYPES[i % len(self.TYPES)], 1000 + 7 * i,
                      currency="EUR" if i % 3 == 0 else "USD",
                      date="%d-%02d-15" % (2023 + i % 3, 1 + i % 12),
                      donor="UNOCT" if i % 5 == 0 else "name:Donor %d" % (i % 4))

    def _run(self):
        i = 0
        try:
            while not self._stop.is_set():
                self._write(i)
                i += 1
                with self._cv:
                    self.done = i
                    self._cv.notify_all()
                time.sleep(0.005)   # a pace, so that the burst spans the faults
        except BaseException as e:  # noqa: BLE001 - reported by wait() and stop()
            self.error = e
            with self._cv:
                self._cv.notify_all()

    def start(self):
        self._t.start()
        return self

    def wait(self, n, timeout=None):
        """Until at least n writes were acknowledged."""
        deadline = time.monotonic() + (timeout or 60 * harness.SLOW)
        with self._cv:
            while self.done < n and self.error is None:
                left = deadline - time.monotonic()
                assert left > 0, "the burst made %d of %d writes" % (self.done, n)
                self._cv.wait(left)
        if self.error is not None:
            raise AssertionError("a write of the burst failed: %r" % (self.error,))

    def stop(self):
        self._stop.set()
        self._t.join(60 * harness.SLOW)
        assert not self._t.is_alive(), "the burst did not stop"
        if self.error is not None:
            raise AssertionError("a write of the burst failed: %r" % (self.error,))
        return self.done


def answers_for_rebuild(an, filters):
    """Every reply for every filter, freshness aside, alerts without their
    found_time (a rebuild may ask projects again), as comparable messages."""
    out = {}
    for f in filters:
        for name, rep in ask_all(an, **f).items():
            m = without_freshness(rep)
            if isinstance(m, A.DuplicationAlerts):
                # A rebuild asks projects about every project again, and a
                # pair is kept once, as its last question found it: from
                # the other side, FindOverlaps' score differs (its dates
                # factor is relative to the subject's period). The pairs and
                # their titles must stay; score, reasons and found_time are
                # projects' answer of the moment.
                pairs = sorted(tuple(sorted([(a.project_id, a.project_title),
                                             (a.other_project_id, a.other_project_title)]))
                               for a in m.alerts)
                del m.alerts[:]
                for (pa, ta), (pb, tb) in pairs:
                    m.alerts.add(project_id=pa, project_title=ta, other_project_id=pb,
                                 other_project_title=tb)
            out[(repr(f), name)] = m
    return out


def rebuild_changes_nothing(an, filters):
    """Asks every question, rebuilds, asks again: every answer must be the
    same. Returns the RebuildResponse."""
    before = answers_for_rebuild(an, filters)
    r = an.Rebuild(A.RebuildRequest())
    after = answers_for_rebuild(an, filters)
    bad = ["%s:\n%s" % (k, "\n".join(difflib.unified_diff(
        str(before[k]).splitlines(), str(after[k]).splitlines(), lineterm="", n=2)))
        for k in before if before[k] != after[k]]
    assert not bad, "a Rebuild changed the figures:\n" + "\n".join(bad)
    return r
