/* Kept apart from GroupsService so the agents module can filter by group without a circular import. */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string) => UUID_RE.test(v);

/**
 * SQL condition: the agent row `alias` is a member of the group whose id is the SQL
 * expression `groupId` (uuid): directly (below), or as a member of one of its child groups
 * (nesting is one level deep, so this is the whole tree). The agents list uses this for
 * `?group=`; rollouts, reports and aggregates follow the same rule.
 */
export function groupMemberSql(alias: string, groupId: string): string {
  return `(${directMemberSql(alias, groupId)}
       OR EXISTS (SELECT 1 FROM agent_groups _c WHERE _c.parent_id = ${groupId}
                     AND ${directMemberSql(alias, '_c.id')}))`;
}

/**
 * Direct membership: explicitly, or because the agent's tags match every pair of the group's
 * selector (`*` = any value). Membership by selector is evaluated at query time, so it follows
 * tag changes with no bookkeeping.
 */
function directMemberSql(alias: string, groupId: string): string {
  return `(EXISTS (SELECT 1 FROM agent_group_members _gm
                  WHERE _gm.agent_id = ${alias}.id AND _gm.group_id = ${groupId})
       OR EXISTS (SELECT 1 FROM agent_groups _g
                   WHERE _g.id = ${groupId} AND _g.tag_selector IS NOT NULL
                     AND _g.tag_selector <> '{}'::jsonb
                     AND NOT EXISTS (
                       SELECT 1 FROM jsonb_each_text(_g.tag_selector) _s
                        WHERE NOT EXISTS (
                          SELECT 1 FROM agent_tags _t
                           WHERE _t.agent_id = ${alias}.id AND _t.key = _s.key
                             AND (_s.value = '*' OR _t.value = _s.value)))))`;
}
