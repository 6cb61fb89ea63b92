import Chip from '@mui/material/Chip';
import Stack from '@mui/material/Stack';

/** `key:value` chips; the first `max`, then "+N". */
export function TagList({
  tags,
  max = Infinity,
  onDelete,
}: {
  tags: Record<string, string>;
  max?: number;
  onDelete?: (key: string) => void;
}) {
  const entries = Object.entries(tags).sort(([a], [b]) => a.localeCompare(b));
  const shown = entries.slice(0, max);
  return (
    <Stack direction="row" spacing={0.5} sx={{ flexWrap: 'wrap', rowGap: 0.5 }}>
      {shown.map(([k, v]) => (
        <Chip
          key={k}
          size="small"
          variant="outlined"
          label={v ? `${k}:${v}` : k}
          data-testid="agent-tag"
          onDelete={onDelete ? () => onDelete(k) : undefined}
        />
      ))}
      {entries.length > shown.length && (
        <Chip size="small" label={`+${entries.length - shown.length}`} />
      )}
    </Stack>
  );
}
