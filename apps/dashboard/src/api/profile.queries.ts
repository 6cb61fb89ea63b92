import { queryOptions } from '@tanstack/react-query';
import type { ChangePasswordRequest, User } from '@agent-monitor/contracts';
import { api } from './client';
import { createQueryKeys } from './query-keys';

export const profileKeys = createQueryKeys('profile');

export const profileQueries = {
  me: () =>
    queryOptions({
      queryKey: profileKeys.key('me'),
      queryFn: ({ signal }) => api.get<User>('/users/profile', undefined, signal),
      staleTime: 60_000,
    }),
};

export const profileApi = {
  changePassword: (body: ChangePasswordRequest) => api.post<void>('/users/profile/password', body),
};
