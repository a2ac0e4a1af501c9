/* peers.c: the kinds of aggregate services refer to in each other (see
 * peers.h). */
#include "peers.h"

#include "compact/membership/v1/membership.pb-c.h"
#include "compact/workgroups/v1/workgroups.pb-c.h"
#include "ids.h"

static const char *entity_unusable(const ProtobufCMessage *item)
{
    const Compact__Membership__V1__Entity *e = (const Compact__Membership__V1__Entity *)item;

    switch (e->status) {
    case COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_ACTIVE:
        return NULL;
    case COMPACT__MEMBERSHIP__V1__ENTITY_STATUS__ENTITY_STATUS_WITHDRAWN:
        return "withdrawn";
    default:
        return "of an unknown status";
    }
}

const peer_kind peer_entities = {
    .peer = "membership",
    .noun = "entity",
    .id_prefix = IDS_ENTITY,
    .service = &compact__membership__v1__membership__descriptor,
    .method = "BatchGetEntities",
    .label_field = "acronym",
    .unusable = entity_unusable,
};

static const char *group_unusable(const ProtobufCMessage *item)
{
    const Compact__Workgroups__V1__WorkingGroup *g =
        (const Compact__Workgroups__V1__WorkingGroup *)item;

    switch (g->status) {
    case COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_ACTIVE:
        return NULL;
    case COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_CLOSED:
        return "closed";
    default:
        return "of an unknown status";
    }
}

const peer_kind peer_groups = {
    .peer = "workgroups",
    .noun = "working group",
    .id_prefix = IDS_GROUP,
    .service = &compact__workgroups__v1__working_groups__descriptor,
    .method = "BatchGetWorkingGroups",
    .label_field = "code",
    .unusable = group_unusable,
};
