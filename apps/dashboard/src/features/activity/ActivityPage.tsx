import { useSearchParams } from 'react-router';
import Box from '@mui/material/Box';
import Tab from '@mui/material/Tab';
import Tabs from '@mui/material/Tabs';
import { Page, PageHeader } from '../../components/PageHeader';
import { CommitFeed } from './CommitFeed';
import { Insights } from './Insights';
import { TaskBoard } from './TaskBoard';

const TABS = ['board', 'commits', 'insights'] as const;
type TabId = (typeof TABS)[number];

/** Coordination activity of coding/AI agents: the task board, the commit feed, velocity. */
export default function ActivityPage() {
  const [params, setParams] = useSearchParams();
  const tab: TabId = (TABS as readonly string[]).includes(params.get('tab') ?? '')
    ? (params.get('tab') as TabId)
    : 'board';
  return (
    <Page>
      <PageHeader
        title="Activity"
        subtitle="What coding and AI agents are working on: tasks, commits and velocity, live."
      />
      <Box sx={{ borderBottom: 1, borderColor: 'divider', mb: 2 }}>
        <Tabs value={tab} onChange={(_, v: TabId) => setParams(v === 'board' ? {} : { tab: v })}>
          <Tab value="board" label="Task board" />
          <Tab value="commits" label="Commits" />
          <Tab value="insights" label="Velocity & agents" />
        </Tabs>
      </Box>
      {tab === 'board' && <TaskBoard />}
      {tab === 'commits' && <CommitFeed />}
      {tab === 'insights' && <Insights />}
    </Page>
  );
}
