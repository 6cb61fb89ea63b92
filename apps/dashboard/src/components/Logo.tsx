import Box from '@mui/material/Box';

/** The product mark: a pulse line in a rounded square (inline SVG, no external assets). */
export function Logo({ size = 28 }: { size?: number }) {
  return (
    <Box
      component="svg"
      viewBox="0 0 32 32"
      width={size}
      height={size}
      aria-hidden
      sx={{ flexShrink: 0, display: 'block' }}
    >
      <defs>
        <linearGradient id="am-logo-g" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stopColor="#3b82f6" />
          <stop offset="1" stopColor="#7c3aed" />
        </linearGradient>
      </defs>
      <rect width="32" height="32" rx="8" fill="url(#am-logo-g)" />
      <path
        d="M5 17h5l2.5-6 4 12 3-9 2 3H27"
        fill="none"
        stroke="#fff"
        strokeWidth="2.4"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </Box>
  );
}
