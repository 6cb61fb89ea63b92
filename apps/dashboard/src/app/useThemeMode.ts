import { useColorScheme } from '@mui/material/styles';

export type ThemeMode = 'light' | 'dark' | 'system';

/**
 * The chosen mode (stored in localStorage, 'system' by default) and the scheme actually shown.
 * Use `resolved` where a colour must be computed in JS (charts); styles use CSS variables.
 */
export function useThemeMode(): {
  mode: ThemeMode;
  resolved: 'light' | 'dark';
  setMode: (m: ThemeMode) => void;
  toggle: () => void;
} {
  const { mode, systemMode, setMode } = useColorScheme();
  const chosen: ThemeMode = mode ?? 'system';
  const resolved: 'light' | 'dark' = chosen === 'system' ? (systemMode ?? 'light') : chosen;
  return {
    mode: chosen,
    resolved,
    setMode: (m) => setMode(m),
    toggle: () => setMode(resolved === 'dark' ? 'light' : 'dark'),
  };
}
