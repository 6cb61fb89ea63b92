export default async function globalTeardown(): Promise<void> {
  const db = (globalThis as { __amEmbedded?: { stop(): Promise<void> } }).__amEmbedded;
  await db?.stop();
}
