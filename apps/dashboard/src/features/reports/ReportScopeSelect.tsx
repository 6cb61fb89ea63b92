import MenuItem from '@mui/material/MenuItem';
import TextField, { type TextFieldProps } from '@mui/material/TextField';

export interface ReportScopeSelectProps extends Omit<
  TextFieldProps,
  'select' | 'value' | 'onChange' | 'children' | 'label'
> {
  /** The groups to offer; undefined while loading. */
  groups: ReadonlyArray<{ id: string; name: string }> | undefined;
  /** A report scope: `all` or `group:<uuid>`. */
  value: string;
  onChange: (scope: string) => void;
}

/** The report's scope: all agents or one group, in the API's `scope` form. */
export function ReportScopeSelect({ groups, value, onChange, ...field }: ReportScopeSelectProps) {
  return (
    <TextField
      {...field}
      select
      label="Scope"
      value={value}
      onChange={(e) => onChange(e.target.value)}
    >
      <MenuItem value="all">All agents</MenuItem>
      {groups?.map((g) => (
        <MenuItem key={g.id} value={`group:${g.id}`}>
          Group: {g.name}
        </MenuItem>
      ))}
    </TextField>
  );
}
