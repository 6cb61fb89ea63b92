import type { ChipProps } from '@mui/material/Chip';
import type { AgentStatus } from '@agent-monitor/contracts';
import { AGENT_STATUS_COLORS } from '../app/theme';
import { ToneChip } from './ToneChip';

export interface StatusChipProps extends Omit<ChipProps, 'color' | 'label'> {
  status: AgentStatus;
  /** Override the label (default: the status name). */
  label?: string;
}

/** An agent's liveness status in its shared colour (`online` pulses). */
export function StatusChip({ status, label, ...rest }: StatusChipProps) {
  const tone = AGENT_STATUS_COLORS[status];
  return (
    <ToneChip
      tone={tone}
      label={label ?? tone.label}
      pulse={status === 'online'}
      data-status={status}
      {...rest}
    />
  );
}
