import { Link as RouterLink } from 'react-router';
import Card from '@mui/material/Card';
import CardActionArea from '@mui/material/CardActionArea';
import CardContent from '@mui/material/CardContent';
import Stack from '@mui/material/Stack';
import Typography from '@mui/material/Typography';
import type { Agent } from '@agent-monitor/contracts';
import { StatusChip } from '../../components/StatusChip';
import { formatRelative } from '../../components/format';
import { TagList } from './TagList';

export function AgentCard({ agent: a, now }: { agent: Agent; now: number }) {
  return (
    <Card
      variant="outlined"
      data-testid="agent-card"
      data-agent-name={a.name}
      sx={{ height: '100%' }}
    >
      <CardActionArea component={RouterLink} to={`/agents/${a.id}`} sx={{ height: '100%' }}>
        <CardContent>
          <Stack direction="row" spacing={1} sx={{ alignItems: 'center', mb: 1 }}>
            <Typography variant="subtitle1" noWrap sx={{ fontWeight: 600, flex: 1, minWidth: 0 }}>
              {a.name}
            </Typography>
            <StatusChip status={a.status} size="small" />
          </Stack>
          <Typography variant="body2" color="text.secondary" noWrap>
            {a.type} · {a.host}
            {a.port ? `:${a.port}` : ''}
            {a.environment ? ` · ${a.environment}` : ''}
          </Typography>
          {a.currentTask && (
            <Typography variant="body2" noWrap sx={{ mt: 0.5 }}>
              {a.currentTask}
              {a.branch ? ` (${a.branch})` : ''}
            </Typography>
          )}
          <Typography
            variant="caption"
            color="text.secondary"
            component="div"
            sx={{ mt: 0.5, mb: 1 }}
          >
            Last heartbeat {formatRelative(a.lastHeartbeat, now)}
          </Typography>
          <TagList tags={a.tags} max={4} />
        </CardContent>
      </CardActionArea>
    </Card>
  );
}
