"""kits.py: one description per service of what the tests that run against
every service need of it, so that a test is written once and parametrized
over SERVICES.

    kit = kits.KITS[name](suite)      # suite started with kits.services_for(name)
    kit.prepare()                     # the peers' data its writes refer to
    a = kit.create("K1")              # a new aggregate, unique by its tag
    kit.get(a.id) == a
    b = kit.change(a, 1)              # one more version (an update)
    kit.lookup("K1")                  # Get by its natural key (acronym, code, IATI id)

A tag is 2 to 12 characters: letters, digits and '-', a letter first; it is
the aggregate's acronym, code or the last part of its IATI identifier.
"""
from google.protobuf import field_mask_pb2

import harness
from harness import M

W = harness.pb("compact/workgroups/v1/workgroups.proto")
P = harness.pb("compact/projects/v1/projects.proto")

SERVICES = ("membership", "workgroups", "projects")

# Who needs whom: the suite starts the peers first.
PEERS = {"membership": (), "workgroups": ("membership",),
         "projects": ("membership", "workgroups")}


def services_for(name):
    return PEERS[name] + (name,)


def mask(*paths):
    return field_mask_pb2.FieldMask(paths=list(paths))


class Kit:
    name = None
    cache_kind = None       # the kind in compact:<service>:<kind>:<id>
    get_method = None

    def __init__(self, suite, channel=None):
        self.suite = suite
        self.channel = channel

    @property
    def stub(self):
        """A stub on the kit's channel, or on the suite's channel of the
        service's current run (a restart makes a new one)."""
        return self.suite.stub(self.name, channel=self.channel)

    def with_channel(self, channel):
        """The same kit over another channel (a thread of a load of its own)."""
        k = type(self)(self.suite, channel)
        k.__dict__.update({a: v for a, v in self.__dict__.items() if a != "channel"})
        return k

    @property
    def full(self):
        return harness.full_name(self.name)

    def cache_key(self, aggregate_id):
        return "compact:%s:%s:%s" % (self.name, self.cache_kind, aggregate_id)

    def prepare(self):
        """Creates what the writes of this kit refer to in the peers."""

    def create(self, tag, **kw):
        return self.create_call(self.create_request(tag, **kw))

    def create_call(self, request, **kw):
        return getattr(self.stub, self.create_method)(request, **kw)

    def get_request(self, aggregate_id):
        raise NotImplementedError

    def get(self, aggregate_id, **kw):
        return getattr(self.stub, self.get_method)(self.get_request(aggregate_id), **kw)

    def list_ids(self):
        out, token = [], ""
        while True:
            rep = getattr(self.stub, self.list_method)(self.list_request(token))
            out.extend(x.id for x in getattr(rep, self.list_field))
            token = rep.next_page_token
            if not token:
                return out

    def peer_write(self, aggregate, n):
        """A write whose handler asks membership before it writes; None for
        membership itself."""
        return None


class MembershipKit(Kit):
    name = "membership"
    cache_kind = "entity"
    create_method = "CreateEntity"
    get_method = "GetEntity"
    list_method, list_field = "ListEntities", "entities"

    def create_request(self, tag, big=0):
        e = harness.entity(tag)
        if big:
            e.source_note = "n" * big
        return M.CreateEntityRequest(entity=e)

    def get_request(self, aggregate_id):
        return M.GetEntityRequest(id=aggregate_id)

    def lookup(self, tag, **kw):
        return self.stub.GetEntity(M.GetEntityRequest(acronym=tag), **kw)

    def tag_of(self, state):
        return state.acronym

    def list_request(self, token):
        return M.ListEntitiesRequest(page_size=1000, page_token=token)

    def change(self, a, n, **kw):
        return self.stub.UpdateEntity(M.UpdateEntityRequest(
            entity=M.Entity(id=a.id, name="Renamed %d" % n), update_mask=mask("name")), **kw)

    def changed(self, state, n):
        return state.name == "Renamed %d" % n


class WorkgroupsKit(Kit):
    name = "workgroups"
    cache_kind = "group"
    create_method = "CreateWorkingGroup"
    get_method = "GetWorkingGroup"
    list_method, list_field = "ListWorkingGroups", "groups"

    def prepare(self):
        mb = self.suite.stub("membership")
        self.entities = [e.id for e in harness.create_many(
            mb, [harness.entity("MEM%02d" % i) for i in range(8)])]

    def create_request(self, tag, big=0):
        return W.CreateWorkingGroupRequest(group=W.WorkingGroup(
            code=tag, title="Group " + tag, pillars=[W.STRATEGY_PILLAR_II],
            mandate="m" * big))

    def get_request(self, aggregate_id):
        return W.GetWorkingGroupRequest(id=aggregate_id)

    def lookup(self, tag, **kw):
        return self.stub.GetWorkingGroup(W.GetWorkingGroupRequest(code=tag), **kw)

    def tag_of(self, state):
        return state.code

    def list_request(self, token):
        return W.ListWorkingGroupsRequest(page_size=1000, page_token=token)

    def change(self, g, n, **kw):
        return self.stub.UpdateWorkingGroup(W.UpdateWorkingGroupRequest(
            group=W.WorkingGroup(id=g.id, title="Renamed %d" % n), update_mask=mask("title")),
            **kw)

    def changed(self, state, n):
        return state.title == "Renamed %d" % n

    def peer_write(self, g, n, **kw):
        return self.stub.AddMember.future(W.AddMemberRequest(
            group_id=g.id, entity_id=self.entities[n], role=W.MEMBER_ROLE_MEMBER), **kw)


class ProjectsKit(Kit):
    name = "projects"
    cache_kind = "project"
    create_method = "CreateProject"
    get_method = "GetProject"
    list_method, list_field = "ListProjects", "projects"

    def prepare(self):
        mb = self.suite.stub("membership")
        self.entities = [e.id for e in harness.create_many(
            mb, [harness.entity(a) for a in ("UNOCT", "INTERPOL", "UNODC")])]
        wg = self.suite.stub("workgroups")
        self.group = wg.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
            code="BMLE", title="Border management", pillars=[W.STRATEGY_PILLAR_II]))).id

    def create_request(self, tag, big=0):
        return P.CreateProjectRequest(project=P.Project(
            iati_identifier="XM-TEST-" + tag, reporting_org_ref="XM-TEST",
            title="Project " + tag, summary="s" * big,
            participants=[P.Participant(entity_id=self.entities[0],
                                        role=P.ORGANISATION_ROLE_ACCOUNTABLE),
                          P.Participant(entity_id=self.entities[1],
                                        role=P.ORGANISATION_ROLE_IMPLEMENTING)],
            working_group_ids=[self.group], recipient_countries=["KE"],
            pillars=[P.STRATEGY_PILLAR_II], start_date="2024-01-01", end_date="2025-12-31",
            status=P.ACTIVITY_STATUS_IMPLEMENTATION))

    def create_call(self, request, **kw):
        return self.stub.CreateProject(request, **kw).project

    def get_request(self, aggregate_id):
        return P.GetProjectRequest(id=aggregate_id)

    def lookup(self, tag, **kw):
        return self.stub.GetProject(P.GetProjectRequest(iati_identifier="XM-TEST-" + tag), **kw)

    def tag_of(self, state):
        return state.iati_identifier[len("XM-TEST-"):]

    def list_request(self, token):
        return P.ListProjectsRequest(page_size=1000, page_token=token)

    def change(self, p, n, **kw):
        return self.stub.UpdateProject(P.UpdateProjectRequest(
            project=P.Project(id=p.id, title="Renamed %d" % n), update_mask=mask("title")), **kw)

    def changed(self, state, n):
        return state.title == "Renamed %d" % n

    def peer_write(self, p, n, **kw):
        """A new project: its partners and group are checked with membership
        (and workgroups) first."""
        return self.stub.CreateProject.future(self.create_request("PEER%d" % n), **kw)


KITS = {"membership": MembershipKit, "workgroups": WorkgroupsKit, "projects": ProjectsKit}


def start(suite_factory, name, **kwargs):
    """Starts `name` with its peers (suite_factory from conftest.py), prepares
    its kit; returns (suite, kit)."""
    suite = suite_factory(services=services_for(name), **kwargs)
    kit = KITS[name](suite)
    kit.prepare()
    return suite, kit
