import { CreateAuthTables1795375325968 } from './1795375325968-CreateAuthTables.js';
import { CreateAgentRegistryTables1795375996725 } from './1795375996725-CreateAgentRegistryTables.js';
import { CreateSystemHealthTable1795480000000 } from './1795480000000-CreateSystemHealthTable.js';
import { CreateBackupRunsTable1795480000001 } from './1795480000001-CreateBackupRunsTable.js';
import { CreateActivityTables1795500000000 } from './1795500000000-CreateActivityTables.js';
import { CreateMetricsStorage1795510000000 } from './1795510000000-CreateMetricsStorage.js';
import { CreateAgentGroups1795520000000 } from './1795520000000-CreateAgentGroups.js';
import { CreateRolloutTables1795530000000 } from './1795530000000-CreateRolloutTables.js';
import { CreateAgentDependencies1795540000000 } from './1795540000000-CreateAgentDependencies.js';
import { CreateAlertingTables1795900000000 } from './1795900000000-CreateAlertingTables.js';
import { CreateMaintenanceWindows1795900000001 } from './1795900000001-CreateMaintenanceWindows.js';
import { AddOutboxGroupKey1795900000002 } from './1795900000002-AddOutboxGroupKey.js';
import { AddAlertInhibitionAndGroupUnreachableRule1795910000000 } from './1795910000000-AddAlertInhibitionAndGroupUnreachableRule.js';
import { CreateEscalationPolicies1795910000001 } from './1795910000001-CreateEscalationPolicies.js';
import { CreateReportSchedules1796207000000 } from './1796207000000-CreateReportSchedules.js';
import { AddAgentGroupParent1796207000001 } from './1796207000001-AddAgentGroupParent.js';
import { AddOutboxCorrelationKeys1796300000000 } from './1796300000000-AddOutboxCorrelationKeys.js';
import { AddAlertInstanceCorrelationId1796400000000 } from './1796400000000-AddAlertInstanceCorrelationId.js';
import { AddGroupUnreachableMemberHold1796400000001 } from './1796400000001-AddGroupUnreachableMemberHold.js';
import { DropRawTimeBrinIndex1796500000000 } from './1796500000000-DropRawTimeBrinIndex.js';
import { StoreRawMetricsInChunks1796500000001 } from './1796500000001-StoreRawMetricsInChunks.js';
import { CreateRawCompactionQueue1796500000002 } from './1796500000002-CreateRawCompactionQueue.js';

/** Applied in timestamp order. A merged migration is never edited; add a new one. */
export const MIGRATIONS = [
  CreateAuthTables1795375325968,
  CreateAgentRegistryTables1795375996725,
  CreateSystemHealthTable1795480000000,
  CreateBackupRunsTable1795480000001,
  CreateActivityTables1795500000000,
  CreateMetricsStorage1795510000000,
  CreateAgentGroups1795520000000,
  CreateRolloutTables1795530000000,
  CreateAgentDependencies1795540000000,
  CreateAlertingTables1795900000000,
  CreateMaintenanceWindows1795900000001,
  AddOutboxGroupKey1795900000002,
  AddAlertInhibitionAndGroupUnreachableRule1795910000000,
  CreateEscalationPolicies1795910000001,
  CreateReportSchedules1796207000000,
  AddAgentGroupParent1796207000001,
  AddOutboxCorrelationKeys1796300000000,
  AddAlertInstanceCorrelationId1796400000000,
  AddGroupUnreachableMemberHold1796400000001,
  DropRawTimeBrinIndex1796500000000,
  StoreRawMetricsInChunks1796500000001,
  CreateRawCompactionQueue1796500000002,
];
