import { Route, Routes, useLocation, Link as RouterLink } from 'react-router';
import Tab from '@mui/material/Tab';
import Tabs from '@mui/material/Tabs';
import { Page, PageHeader } from '../../components/PageHeader';
import { AlertsPage } from './AlertsPage';
import { ChannelsPage } from './ChannelsPage';
import { EscalationPoliciesPage } from './EscalationPoliciesPage';
import { MaintenancePage } from './MaintenancePage';
import { RulesPage } from './RulesPage';

const TABS = [
  { to: '/alerts', label: 'Alerts' },
  { to: '/alerts/rules', label: 'Rules' },
  { to: '/alerts/channels', label: 'Channels' },
  { to: '/alerts/escalation-policies', label: 'Escalation' },
  { to: '/alerts/maintenance', label: 'Maintenance' },
];

/**
 * Alerting: active and past alerts, rules, notification channels, escalation policies,
 * maintenance windows.
 */
export default function AlertsSection() {
  const { pathname } = useLocation();
  const current =
    TABS.slice()
      .reverse()
      .find((t) => pathname.startsWith(t.to))?.to ?? '/alerts';
  return (
    <Page>
      <PageHeader
        title="Alerting"
        subtitle="Alerts fire from rules evaluated on every sample; channels deliver them."
      />
      <Tabs value={current} sx={{ mb: 2 }}>
        {TABS.map((t) => (
          <Tab key={t.to} value={t.to} label={t.label} component={RouterLink} to={t.to} />
        ))}
      </Tabs>
      <Routes>
        <Route index element={<AlertsPage />} />
        <Route path="rules" element={<RulesPage />} />
        <Route path="channels" element={<ChannelsPage />} />
        <Route path="escalation-policies" element={<EscalationPoliciesPage />} />
        <Route path="maintenance" element={<MaintenancePage />} />
      </Routes>
    </Page>
  );
}
