import MenuItem from '@mui/material/MenuItem';
import TextField, { type TextFieldProps } from '@mui/material/TextField';

export interface GroupMultiSelectProps extends Omit<
  TextFieldProps,
  'select' | 'value' | 'onChange' | 'children' | 'slotProps'
> {
  /** The groups to offer; undefined while loading. */
  groups: ReadonlyArray<{ id: string; name: string }> | undefined;
  value: string[];
  onChange: (groupIds: string[]) => void;
  /** data-testid of the underlying input. */
  inputTestId?: string;
}

/** Picks any number of agent groups by name; shows ids it cannot name and says when none exist. */
export function GroupMultiSelect({
  groups,
  value,
  onChange,
  inputTestId,
  ...field
}: GroupMultiSelectProps) {
  return (
    <TextField
      {...field}
      select
      value={value}
      onChange={(e) => onChange(e.target.value as unknown as string[])}
      slotProps={{
        select: {
          multiple: true,
          renderValue: (v) =>
            (v as string[]).map((id) => groups?.find((g) => g.id === id)?.name ?? id).join(', '),
        },
        ...(inputTestId ? { htmlInput: { 'data-testid': inputTestId } } : {}),
      }}
    >
      {(groups ?? []).map((g) => (
        <MenuItem key={g.id} value={g.id}>
          {g.name}
        </MenuItem>
      ))}
      {groups?.length === 0 && (
        <MenuItem disabled value="">
          No groups yet
        </MenuItem>
      )}
    </TextField>
  );
}
