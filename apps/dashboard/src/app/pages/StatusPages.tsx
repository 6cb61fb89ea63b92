import { Link as RouterLink } from 'react-router';
import Button from '@mui/material/Button';
import LockOutlined from '@mui/icons-material/LockOutlined';
import ExploreOffOutlined from '@mui/icons-material/ExploreOffOutlined';
import type { Role } from '@agent-monitor/contracts';
import { EmptyState } from '../../components/EmptyState';
import { Page } from '../../components/PageHeader';

export function NoAccessPage({ required }: { required: Role }) {
  return (
    <Page>
      <EmptyState
        icon={<LockOutlined />}
        title="You don't have access to this page"
        description={`This page needs the ${required} role. Ask an administrator if you need it.`}
        action={
          <Button component={RouterLink} to="/" variant="outlined">
            Back to overview
          </Button>
        }
      />
    </Page>
  );
}

export function NotFoundPage() {
  return (
    <Page>
      <EmptyState
        icon={<ExploreOffOutlined />}
        title="Page not found"
        description="The address may be mistyped, or the page was moved."
        action={
          <Button component={RouterLink} to="/" variant="outlined">
            Back to overview
          </Button>
        }
      />
    </Page>
  );
}
