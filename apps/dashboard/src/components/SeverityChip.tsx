import type { ChipProps } from '@mui/material/Chip';
import type { AlertSeverity } from '@agent-monitor/contracts';
import { ALERT_SEVERITY_COLORS } from '../app/theme';
import { ToneChip } from './ToneChip';

export interface SeverityChipProps extends Omit<ChipProps, 'color' | 'label'> {
  severity: AlertSeverity;
  label?: string;
}

/** An alert severity in its shared colour. */
export function SeverityChip({ severity, label, ...rest }: SeverityChipProps) {
  const tone = ALERT_SEVERITY_COLORS[severity];
  return <ToneChip tone={tone} label={label ?? tone.label} data-severity={severity} {...rest} />;
}
