import { alpha, createTheme } from '@mui/material/styles';
import type { AgentStatus, AlertSeverity } from '@agent-monitor/contracts';

/** localStorage key of the chosen mode ('light' | 'dark' | 'system'); index.html reads it too. */
export const THEME_MODE_STORAGE_KEY = 'am-theme-mode';

/** A colour per scheme: the light value reads on white, the dark value on near-black. */
export interface SchemeColor {
  light: string;
  dark: string;
}

/** One colour per agent status, shared by chips, charts and maps so a status looks the same everywhere. */
export const AGENT_STATUS_COLORS: Record<AgentStatus, SchemeColor & { label: string }> = {
  online: { light: '#1b873f', dark: '#3fb950', label: 'Online' },
  stale: { light: '#b7791f', dark: '#e3b341', label: 'Stale' },
  offline: { light: '#6b7280', dark: '#8b949e', label: 'Offline' },
  error: { light: '#d1242f', dark: '#f85149', label: 'Error' },
  down: { light: '#8e1519', dark: '#ff7b72', label: 'Down' },
};

export const ALERT_SEVERITY_COLORS: Record<AlertSeverity, SchemeColor & { label: string }> = {
  info: { light: '#0969da', dark: '#58a6ff', label: 'Info' },
  warning: { light: '#b7791f', dark: '#e3b341', label: 'Warning' },
  error: { light: '#d1242f', dark: '#f85149', label: 'Error' },
  critical: { light: '#8250df', dark: '#d2a8ff', label: 'Critical' },
};

/** Series colours for charts, readable in both schemes. */
export const CHART_PALETTE: SchemeColor[] = [
  { light: '#2563eb', dark: '#60a5fa' },
  { light: '#059669', dark: '#34d399' },
  { light: '#d97706', dark: '#fbbf24' },
  { light: '#7c3aed', dark: '#a78bfa' },
  { light: '#db2777', dark: '#f472b6' },
  { light: '#0891b2', dark: '#22d3ee' },
  { light: '#65a30d', dark: '#a3e635' },
  { light: '#dc2626', dark: '#f87171' },
];

export function schemeColor(c: SchemeColor, mode: 'light' | 'dark'): string {
  return c[mode];
}

const SYSTEM_FONT =
  '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", sans-serif';
export const MONO_FONT =
  'ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace';

/**
 * The one theme, with a light and a dark scheme as CSS variables (no flash on reload: the
 * inline script in index.html sets the class before React mounts). Pick the scheme with
 * MUI's `useColorScheme()`; `theme.applyStyles('dark', {...})` styles per scheme.
 */
export const theme = createTheme({
  cssVariables: { colorSchemeSelector: 'class' },
  colorSchemes: {
    light: {
      palette: {
        primary: { main: '#2563eb' },
        secondary: { main: '#7c3aed' },
        success: { main: '#1b873f' },
        warning: { main: '#b7791f' },
        error: { main: '#d1242f' },
        background: { default: '#f6f7f9', paper: '#ffffff' },
        divider: 'rgba(15, 23, 42, 0.10)',
        text: { primary: '#0f172a', secondary: '#475569' },
      },
    },
    dark: {
      palette: {
        primary: { main: '#60a5fa' },
        secondary: { main: '#a78bfa' },
        success: { main: '#3fb950' },
        warning: { main: '#e3b341' },
        error: { main: '#f85149' },
        background: { default: '#0b0f17', paper: '#121826' },
        divider: 'rgba(148, 163, 184, 0.16)',
        text: { primary: '#e5e7eb', secondary: '#94a3b8' },
      },
    },
  },
  shape: { borderRadius: 8 },
  typography: {
    fontFamily: SYSTEM_FONT,
    h4: { fontWeight: 650, letterSpacing: '-0.01em' },
    h5: { fontWeight: 650, letterSpacing: '-0.01em' },
    h6: { fontWeight: 600 },
    subtitle2: { fontWeight: 600 },
    button: { textTransform: 'none', fontWeight: 600 },
    overline: { fontWeight: 700, letterSpacing: '0.08em' },
  },
  components: {
    MuiCssBaseline: {
      styleOverrides: {
        body: { fontFeatureSettings: '"tnum"' },
        code: { fontFamily: MONO_FONT, fontSize: '0.85em' },
      },
    },
    MuiPaper: {
      defaultProps: { elevation: 0 },
      styleOverrides: {
        root: { backgroundImage: 'none' },
        outlined: ({ theme: t }) => ({ borderColor: t.vars?.palette.divider }),
      },
    },
    MuiCard: {
      defaultProps: { variant: 'outlined' },
    },
    MuiAppBar: {
      defaultProps: { elevation: 0, color: 'inherit' },
      styleOverrides: {
        root: ({ theme: t }) => ({
          borderBottom: `1px solid ${t.vars?.palette.divider}`,
          backgroundColor: t.vars?.palette.background.paper,
        }),
      },
    },
    MuiButton: { defaultProps: { disableElevation: true } },
    MuiTableCell: {
      styleOverrides: {
        head: ({ theme: t }) => ({
          fontWeight: 600,
          color: t.vars?.palette.text.secondary,
          fontSize: '0.75rem',
          textTransform: 'uppercase',
          letterSpacing: '0.04em',
          whiteSpace: 'nowrap',
        }),
      },
    },
    MuiChip: { styleOverrides: { root: { fontWeight: 600 } } },
    MuiTooltip: { defaultProps: { arrow: true } },
    MuiDialog: { defaultProps: { fullWidth: true, maxWidth: 'sm' } },
    MuiListItemButton: {
      styleOverrides: {
        root: ({ theme: t }) => ({
          borderRadius: 8,
          '&.Mui-selected': {
            backgroundColor: alpha('#2563eb', 0.1),
            color: t.vars?.palette.primary.main,
            '& .MuiListItemIcon-root': { color: t.vars?.palette.primary.main },
            ...t.applyStyles('dark', { backgroundColor: alpha('#60a5fa', 0.14) }),
          },
        }),
      },
    },
  },
});
