import Chip, { type ChipProps } from '@mui/material/Chip';
import Box from '@mui/material/Box';
import { alpha } from '@mui/material/styles';
import type { SchemeColor } from '../app/theme';

export interface ToneChipProps extends Omit<ChipProps, 'color' | 'label'> {
  tone: SchemeColor;
  label: string;
  /** A pulsing dot, for live states. */
  pulse?: boolean;
}

/** A chip in one of the shared status/severity colours. */
export function ToneChip({ tone, label, pulse, sx, size = 'small', ...rest }: ToneChipProps) {
  return (
    <Chip
      size={size}
      label={label}
      icon={
        <Box
          component="span"
          aria-hidden
          sx={(t) => ({
            width: 8,
            height: 8,
            borderRadius: '50%',
            flexShrink: 0,
            bgcolor: tone.light,
            ...t.applyStyles('dark', { bgcolor: tone.dark }),
            ...(pulse && {
              animation: 'am-pulse 1.8s ease-in-out infinite',
              '@keyframes am-pulse': {
                '0%, 100%': { opacity: 1 },
                '50%': { opacity: 0.35 },
              },
            }),
          })}
        />
      }
      sx={[
        (t) => ({
          color: tone.light,
          bgcolor: alpha(tone.light, 0.1),
          border: `1px solid ${alpha(tone.light, 0.25)}`,
          '& .MuiChip-icon': { ml: '8px', mr: '-2px' },
          ...t.applyStyles('dark', {
            color: tone.dark,
            bgcolor: alpha(tone.dark, 0.14),
            border: `1px solid ${alpha(tone.dark, 0.3)}`,
          }),
        }),
        ...(Array.isArray(sx) ? sx : [sx]),
      ]}
      {...rest}
    />
  );
}
