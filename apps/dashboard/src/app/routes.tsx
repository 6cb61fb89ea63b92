import { lazy, type ComponentType, type ReactElement, type ReactNode } from 'react';
import type { Role } from '@agent-monitor/contracts';
import DashboardOutlined from '@mui/icons-material/DashboardOutlined';
import GroupOutlined from '@mui/icons-material/GroupOutlined';
import VpnKeyOutlined from '@mui/icons-material/VpnKeyOutlined';
import HistoryOutlined from '@mui/icons-material/HistoryOutlined';
import AssignmentOutlined from '@mui/icons-material/AssignmentOutlined';
import AssessmentOutlined from '@mui/icons-material/AssessmentOutlined';
import WorkspacesOutlined from '@mui/icons-material/WorkspacesOutlined';
import AccountTreeOutlined from '@mui/icons-material/AccountTreeOutlined';
import ShowChartOutlined from '@mui/icons-material/ShowChartOutlined';
import DnsOutlined from '@mui/icons-material/DnsOutlined';
import MonitorHeartOutlined from '@mui/icons-material/MonitorHeartOutlined';
import NotificationsActiveOutlined from '@mui/icons-material/NotificationsActiveOutlined';

/**
 * THE route + navigation registry. A feature adds ONE entry here:
 *
 *   {
 *     path: '/agents/*',                                   // '/*' when the page has sub-routes
 *     element: page(() => import('../features/agents/AgentsPage')),  // default export
 *     minRole: 'viewer',                                   // who may open it (default viewer)
 *     nav: { label: 'Agents', icon: <DnsOutlined />, section: 'monitor', order: 20, to: '/agents' },
 *   },
 *
 * Entries without `nav` are routes only (detail pages). The layout, the role gate (a direct URL
 * to a page above the user's role shows "no access") and the drawer all read this array, so
 * the navigation never links to a page that does not exist.
 */
export type NavSection = 'monitor' | 'operate' | 'admin';

export const NAV_SECTIONS: { id: NavSection; label: string }[] = [
  { id: 'monitor', label: 'Monitor' },
  { id: 'operate', label: 'Operate' },
  { id: 'admin', label: 'Admin' },
];

export interface NavItem {
  label: string;
  icon: ReactElement;
  section: NavSection;
  /** Sort key within the section (10, 20, 30 … leaves room between). */
  order: number;
  /** Hide the link below this role (defaults to the route's minRole). */
  minRole?: Role;
  /** Link target when `path` has params or a splat (default: `path`). */
  to?: string;
}

export interface AppRoute {
  /** Absolute path, react-router syntax (`/agents/:id`, `/reports/*`). */
  path: string;
  element: ReactNode;
  /** Lowest role that may open the page (default 'viewer'). */
  minRole?: Role;
  nav?: NavItem;
}

/** A lazily loaded page module (its default export), so each feature is its own chunk. */
export function page(load: () => Promise<{ default: ComponentType }>): ReactElement {
  const Page = lazy(load);
  return <Page />;
}

export const appRoutes: AppRoute[] = [
  {
    path: '/alerts/*',
    element: page(() => import('../features/alerts/AlertsSection')),
    nav: {
      label: 'Alerts',
      icon: <NotificationsActiveOutlined />,
      section: 'monitor',
      order: 30,
      to: '/alerts',
    },
  },
  {
    path: '/system',
    element: page(() => import('../features/system/SystemHealthPage')),
    minRole: 'operator',
    nav: { label: 'System health', icon: <MonitorHeartOutlined />, section: 'admin', order: 40 },
  },
  {
    path: '/agents',
    element: page(() => import('../features/agents/AgentsPage')),
    nav: { label: 'Agents', icon: <DnsOutlined />, section: 'monitor', order: 10 },
  },
  {
    path: '/agents/:id',
    element: page(() => import('../features/agents/AgentDetailPage')),
  },
  {
    path: '/',
    element: page(() => import('./pages/WelcomePage')),
    nav: { label: 'Overview', icon: <DashboardOutlined />, section: 'monitor', order: 0 },
  },
  {
    path: '/metrics',
    element: page(() => import('../features/metrics/OverviewPage')),
    nav: { label: 'Fleet metrics', icon: <ShowChartOutlined />, section: 'monitor', order: 5 },
  },
  {
    path: '/admin/users',
    element: page(() => import('../features/users/UsersPage')),
    minRole: 'admin',
    nav: { label: 'Users', icon: <GroupOutlined />, section: 'admin', order: 10 },
  },
  {
    path: '/admin/api-keys',
    element: page(() => import('../features/api-keys/ApiKeysPage')),
    minRole: 'admin',
    nav: { label: 'API keys', icon: <VpnKeyOutlined />, section: 'admin', order: 20 },
  },
  {
    path: '/admin/audit',
    element: page(() => import('../features/audit/AuditLogPage')),
    minRole: 'admin',
    nav: { label: 'Audit log', icon: <HistoryOutlined />, section: 'admin', order: 30 },
  },
  {
    path: '/activity',
    element: page(() => import('../features/activity/ActivityPage')),
    nav: { label: 'Activity', icon: <AssignmentOutlined />, section: 'monitor', order: 40 },
  },
  {
    path: '/activity/agents/:id',
    element: page(() => import('../features/activity/AgentTimelinePage')),
  },
  {
    path: '/reports',
    element: page(() => import('../features/reports/ReportsPage')),
    nav: { label: 'Reports', icon: <AssessmentOutlined />, section: 'monitor', order: 60 },
  },
  {
    path: '/groups',
    element: page(() => import('../features/fleet/GroupsPage')),
    nav: { label: 'Groups', icon: <WorkspacesOutlined />, section: 'operate', order: 20 },
  },
  {
    path: '/dependencies',
    element: page(() => import('../features/fleet/DependencyMapPage')),
    nav: { label: 'Dependencies', icon: <AccountTreeOutlined />, section: 'operate', order: 30 },
  },
];

export function routeMinRole(r: AppRoute): Role {
  return r.minRole ?? 'viewer';
}

export function navMinRole(r: AppRoute): Role {
  return r.nav?.minRole ?? routeMinRole(r);
}

export function navTarget(r: AppRoute): string {
  return r.nav?.to ?? r.path.replace(/\/\*$/, '');
}
