import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import type { Role, User } from '@agent-monitor/contracts';
import {
  login as apiLogin,
  logout as apiLogout,
  refreshSession,
  setSessionExpiredHandler,
} from '../api/client';
import { session, REFRESH_TOKEN_STORAGE_KEY } from '../api/session';
import { queryClient } from '../api/query-client';
import { profileQueries } from '../api/profile.queries';
import { connectSocket, disconnectSocket } from '../api/socket';
import { PageSkeleton } from '../components/Skeletons';

const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `role` includes everything `min` may do (admin ⊃ operator ⊃ viewer). */
export function hasRole(role: Role | undefined | null, min: Role): boolean {
  return role != null && ROLE_RANK[role] >= ROLE_RANK[min];
}

export type AuthStatus = 'loading' | 'authenticated' | 'anonymous';

export interface AuthContextValue {
  status: AuthStatus;
  user: User | null;
  role: Role | null;
  /** `can('operator')`: may the current user do what operators may? */
  can: (min: Role) => boolean;
  login: (email: string, password: string) => Promise<User>;
  logout: () => Promise<void>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function useAuth(): AuthContextValue {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth() outside <AuthProvider>');
  return ctx;
}

/** Where to go after login: the `next` parameter if it is a path of this app, else home. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login')
    ? next
    : '/';
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const navigate = useNavigate();
  const [status, setStatus] = useState<AuthStatus>(() =>
    session.getRefreshToken() ? 'loading' : 'anonymous',
  );
  const [initialUser, setInitialUser] = useState<User | null>(null);

  // The profile query keeps the user (and role) fresh: a role change pushed over the socket
  // invalidates it and the UI follows.
  const profile = useQuery({ ...profileQueries.me(), enabled: status === 'authenticated' });
  const user = status === 'authenticated' ? (profile.data ?? initialUser) : null;

  const dropSession = useCallback(() => {
    disconnectSocket();
    queryClient.clear();
    setInitialUser(null);
    setStatus('anonymous');
  }, []);

  // A reload keeps only the refresh token: trade it for an access token and the profile.
  useEffect(() => {
    if (status !== 'loading') return;
    let cancelled = false;
    (async () => {
      try {
        const ok = await refreshSession();
        if (!ok) throw new Error('session ended');
        const me = await queryClient.fetchQuery(profileQueries.me());
        if (cancelled) return;
        setInitialUser(me);
        setStatus('authenticated');
      } catch {
        if (cancelled) return;
        // Offline or refused: either way the user has to log in (the token stays if offline).
        setStatus('anonymous');
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [status]);

  // A 401 that a refresh could not fix: back to /login, remembering where the user was.
  useEffect(() => {
    setSessionExpiredHandler(() => {
      dropSession();
      const here = window.location.pathname + window.location.search;
      navigate(here.startsWith('/login') ? '/login' : `/login?next=${encodeURIComponent(here)}`, {
        replace: true,
      });
    });
  }, [navigate, dropSession]);

  // Logging out in another tab removes the refresh token: follow it here.
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (
        e.key === REFRESH_TOKEN_STORAGE_KEY &&
        e.newValue === null &&
        status === 'authenticated'
      ) {
        dropSession();
        navigate('/login', { replace: true });
      }
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, [status, dropSession, navigate]);

  // Live updates only while logged in.
  useEffect(() => {
    if (status !== 'authenticated') return;
    connectSocket();
    return () => disconnectSocket();
  }, [status]);

  const login = useCallback(async (email: string, password: string) => {
    const res = await apiLogin(email, password);
    queryClient.clear();
    queryClient.setQueryData(profileQueries.me().queryKey, res.user);
    setInitialUser(res.user);
    setStatus('authenticated');
    return res.user;
  }, []);

  const logout = useCallback(async () => {
    dropSession();
    await apiLogout();
    navigate('/login', { replace: true });
  }, [dropSession, navigate]);

  const value = useMemo<AuthContextValue>(
    () => ({
      status,
      user,
      role: user?.role ?? null,
      can: (min: Role) => hasRole(user?.role, min),
      login,
      logout,
    }),
    [status, user, login, logout],
  );

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

/** Renders its children only for a logged-in user; others go to /login?next=<here>. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { status } = useAuth();
  const location = useLocation();
  if (status === 'loading') return <PageSkeleton />;
  if (status === 'anonymous') {
    const next = location.pathname + location.search;
    return (
      <Navigate to={next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`} replace />
    );
  }
  return <>{children}</>;
}

/** Renders children only when the user has at least `role`; otherwise `fallback` (nothing). */
export function Can({
  role,
  children,
  fallback = null,
}: {
  role: Role;
  children: ReactNode;
  fallback?: ReactNode;
}) {
  const { can } = useAuth();
  return <>{can(role) ? children : fallback}</>;
}
