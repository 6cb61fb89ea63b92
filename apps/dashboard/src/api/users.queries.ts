import { queryOptions } from '@tanstack/react-query';
import type {
  CreateUserRequest,
  ListUsersQuery,
  Page,
  UpdateUserRequest,
  User,
} from '@agent-monitor/contracts';
import { api } from './client';
import { cleanParams, createQueryKeys } from './query-keys';

export const usersKeys = createQueryKeys('users');

export type UsersListParams = Partial<ListUsersQuery>;

export const usersQueries = {
  list: (params: UsersListParams = {}) => {
    const p = cleanParams(params);
    return queryOptions({
      queryKey: usersKeys.list(p),
      queryFn: ({ signal }) => api.get<Page<User>>('/users', p, signal),
      placeholderData: (prev) => prev,
    });
  },
  detail: (id: string) =>
    queryOptions({
      queryKey: usersKeys.detail(id),
      queryFn: ({ signal }) => api.get<User>(`/users/${encodeURIComponent(id)}`, undefined, signal),
    }),
};

export const usersApi = {
  create: (body: CreateUserRequest) => api.post<User>('/users', body),
  update: (id: string, body: UpdateUserRequest) =>
    api.patch<User>(`/users/${encodeURIComponent(id)}`, body),
  remove: (id: string) => api.delete(`/users/${encodeURIComponent(id)}`),
};
