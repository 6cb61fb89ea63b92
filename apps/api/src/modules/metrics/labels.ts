/** Splits canonical label text (`k=v,k2=v\,x`) back into pairs. */
export function parseCanonicalLabels(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let key = '';
  let val = '';
  let inVal = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      if (inVal) val += text[++i];
      else key += text[++i];
    } else if (c === '=' && !inVal) inVal = true;
    else if (c === ',') {
      out.push([key, val]);
      key = '';
      val = '';
      inVal = false;
    } else if (inVal) val += c;
    else key += c;
  }
  if (key) out.push([key, val]);
  return out;
}
