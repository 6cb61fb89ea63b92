import { AgentGroupMemberEntity } from '../modules/groups/agent-group-member.entity.js';
import { AgentGroupEntity } from '../modules/groups/agent-group.entity.js';
import { CommitEntity } from '../modules/activity/commit.entity.js';
import { TaskEventEntity } from '../modules/activity/task-event.entity.js';
import { TaskEntity } from '../modules/activity/task.entity.js';
import { AgentConfigurationEntity } from '../modules/agents/agent-configuration.entity.js';
import { AgentStatusHistoryEntity } from '../modules/agents/agent-status-history.entity.js';
import { AgentTagEntity } from '../modules/agents/agent-tag.entity.js';
import { AgentEntity } from '../modules/agents/agent.entity.js';
import { ApiKeyEntity } from '../modules/api-keys/api-key.entity.js';
import { AuditLogEntity } from '../modules/audit/audit-log.entity.js';
import { UserSessionEntity } from '../modules/auth/user-session.entity.js';
import { UserEntity } from '../modules/users/user.entity.js';

/** Every TypeORM entity. Each domain appends its own; the schema check compares these to migrations. */
export const ENTITIES = [
  UserEntity,
  UserSessionEntity,
  ApiKeyEntity,
  AuditLogEntity,
  AgentEntity,
  AgentTagEntity,
  AgentConfigurationEntity,
  AgentStatusHistoryEntity,
  TaskEventEntity,
  TaskEntity,
  CommitEntity,
  AgentGroupEntity,
  AgentGroupMemberEntity,
];
