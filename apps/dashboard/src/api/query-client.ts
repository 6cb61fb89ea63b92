import { QueryClient } from '@tanstack/react-query';
import { ApiError } from './client';

/** The app's one QueryClient (the socket client invalidates through it on `resync`). */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: true,
      // Client errors (403, 404, 400) do not get better by retrying; network and 5xx may.
      retry: (count, err) =>
        count < 2 && !(err instanceof ApiError && err.statusCode >= 400 && err.statusCode < 500),
    },
    mutations: { retry: false },
  },
});
