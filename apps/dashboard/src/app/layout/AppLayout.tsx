import { useState } from 'react';
import { Link as RouterLink, Outlet, matchPath, useLocation } from 'react-router';
import AppBar from '@mui/material/AppBar';
import Box from '@mui/material/Box';
import Drawer from '@mui/material/Drawer';
import IconButton from '@mui/material/IconButton';
import List from '@mui/material/List';
import ListItemButton from '@mui/material/ListItemButton';
import ListItemIcon from '@mui/material/ListItemIcon';
import ListItemText from '@mui/material/ListItemText';
import ListSubheader from '@mui/material/ListSubheader';
import Toolbar from '@mui/material/Toolbar';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import useMediaQuery from '@mui/material/useMediaQuery';
import { useTheme } from '@mui/material/styles';
import MenuIcon from '@mui/icons-material/Menu';
import ChevronLeft from '@mui/icons-material/ChevronLeft';
import ChevronRight from '@mui/icons-material/ChevronRight';
import DarkModeOutlined from '@mui/icons-material/DarkModeOutlined';
import LightModeOutlined from '@mui/icons-material/LightModeOutlined';
import { useAuth } from '../auth';
import { NAV_SECTIONS, appRoutes, navMinRole, navTarget, type AppRoute } from '../routes';
import { useThemeMode } from '../useThemeMode';
import { Logo } from '../../components/Logo';
import { AlertLiveToaster } from '../../features/alerts/AlertLiveToaster';
import { ConnectionIndicator } from './ConnectionIndicator';
import { ProfileMenu } from './ProfileMenu';

const DRAWER_WIDTH = 248;
const MINI_WIDTH = 68;
const COLLAPSED_KEY = 'am-nav-collapsed';

function isActive(r: AppRoute, pathname: string): boolean {
  const target = navTarget(r);
  if (target === '/') return pathname === '/';
  return matchPath({ path: target, end: false }, pathname) !== null;
}

function NavList({ collapsed, onNavigate }: { collapsed: boolean; onNavigate?: () => void }) {
  const { can } = useAuth();
  const { pathname } = useLocation();
  const visible = appRoutes.filter((r) => r.nav && can(navMinRole(r)));
  return (
    <Box component="nav" aria-label="Main" sx={{ px: 1.25, py: 1, overflowX: 'hidden' }}>
      {NAV_SECTIONS.map((section) => {
        const items = visible
          .filter((r) => r.nav?.section === section.id)
          .sort((a, b) => (a.nav?.order ?? 0) - (b.nav?.order ?? 0));
        if (items.length === 0) return null;
        return (
          <List
            key={section.id}
            dense
            subheader={
              collapsed ? (
                <Box sx={{ height: 12 }} />
              ) : (
                <ListSubheader
                  disableSticky
                  sx={{
                    bgcolor: 'transparent',
                    lineHeight: '32px',
                    fontSize: 11,
                    fontWeight: 700,
                    letterSpacing: '0.08em',
                    textTransform: 'uppercase',
                  }}
                >
                  {section.label}
                </ListSubheader>
              )
            }
          >
            {items.map((r) => {
              const nav = r.nav!;
              const button = (
                <ListItemButton
                  component={RouterLink}
                  to={navTarget(r)}
                  selected={isActive(r, pathname)}
                  onClick={onNavigate}
                  sx={{ mb: 0.25, minHeight: 40, px: 1.5 }}
                >
                  <ListItemIcon sx={{ minWidth: collapsed ? 0 : 36 }}>{nav.icon}</ListItemIcon>
                  {!collapsed && (
                    <ListItemText
                      primary={nav.label}
                      slotProps={{ primary: { sx: { fontWeight: 500, fontSize: 14 } } }}
                    />
                  )}
                </ListItemButton>
              );
              return collapsed ? (
                <Tooltip key={r.path} title={nav.label} placement="right">
                  {button}
                </Tooltip>
              ) : (
                <Box key={r.path}>{button}</Box>
              );
            })}
          </List>
        );
      })}
    </Box>
  );
}

function ThemeToggle() {
  const { resolved, toggle } = useThemeMode();
  const next = resolved === 'dark' ? 'light' : 'dark';
  return (
    <Tooltip title={`Switch to ${next} theme`}>
      <IconButton onClick={toggle} aria-label={`Switch to ${next} theme`} data-theme={resolved}>
        {resolved === 'dark' ? <LightModeOutlined /> : <DarkModeOutlined />}
      </IconButton>
    </Tooltip>
  );
}

/** The app shell: top bar, navigation drawer (collapsible; a sheet on phones) and the page. */
export function AppLayout() {
  const theme = useTheme();
  const desktop = useMediaQuery(theme.breakpoints.up('md'), { noSsr: true });
  const [mobileOpen, setMobileOpen] = useState(false);
  const [collapsed, setCollapsed] = useState(() => localStorage.getItem(COLLAPSED_KEY) === '1');
  const width = desktop && collapsed ? MINI_WIDTH : DRAWER_WIDTH;

  const toggleCollapsed = () => {
    setCollapsed((c) => {
      localStorage.setItem(COLLAPSED_KEY, c ? '0' : '1');
      return !c;
    });
  };

  return (
    <Box sx={{ display: 'flex', minHeight: '100vh', bgcolor: 'background.default' }}>
      <AppBar position="fixed" sx={{ zIndex: (t) => t.zIndex.drawer + 1 }}>
        <Toolbar sx={{ gap: 1.5 }}>
          {!desktop && (
            <IconButton
              edge="start"
              aria-label="Open navigation"
              onClick={() => setMobileOpen(true)}
            >
              <MenuIcon />
            </IconButton>
          )}
          <Box
            component={RouterLink}
            to="/"
            sx={{
              display: 'flex',
              alignItems: 'center',
              gap: 1.25,
              color: 'inherit',
              textDecoration: 'none',
            }}
          >
            <Logo />
            <Typography variant="h6" component="span" sx={{ fontSize: 17, fontWeight: 700 }}>
              Agent Monitor
            </Typography>
          </Box>
          <Box sx={{ flex: 1 }} />
          <AlertLiveToaster />
          <ConnectionIndicator />
          <ThemeToggle />
          <ProfileMenu />
        </Toolbar>
      </AppBar>

      {desktop ? (
        <Drawer
          variant="permanent"
          sx={{
            width,
            flexShrink: 0,
            transition: theme.transitions.create('width'),
            '& .MuiDrawer-paper': {
              width,
              boxSizing: 'border-box',
              overflowX: 'hidden',
              transition: theme.transitions.create('width'),
              borderRightColor: 'divider',
              bgcolor: 'background.paper',
            },
          }}
        >
          <Toolbar />
          <Box sx={{ flex: 1, overflowY: 'auto' }}>
            <NavList collapsed={collapsed} />
          </Box>
          <Box sx={{ p: 1, display: 'flex', justifyContent: collapsed ? 'center' : 'flex-end' }}>
            <Tooltip
              title={collapsed ? 'Expand navigation' : 'Collapse navigation'}
              placement="right"
            >
              <IconButton
                size="small"
                onClick={toggleCollapsed}
                aria-label={collapsed ? 'Expand navigation' : 'Collapse navigation'}
              >
                {collapsed ? <ChevronRight /> : <ChevronLeft />}
              </IconButton>
            </Tooltip>
          </Box>
        </Drawer>
      ) : (
        <Drawer
          variant="temporary"
          open={mobileOpen}
          onClose={() => setMobileOpen(false)}
          sx={{ '& .MuiDrawer-paper': { width: DRAWER_WIDTH } }}
        >
          <Toolbar>
            <Logo />
            <Typography sx={{ ml: 1.25, fontWeight: 700 }}>Agent Monitor</Typography>
          </Toolbar>
          <NavList collapsed={false} onNavigate={() => setMobileOpen(false)} />
        </Drawer>
      )}

      <Box component="main" sx={{ flex: 1, minWidth: 0, display: 'flex', flexDirection: 'column' }}>
        <Toolbar />
        <Outlet />
      </Box>
    </Box>
  );
}
