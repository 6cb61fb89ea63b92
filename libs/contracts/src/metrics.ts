// Owned by the metrics domain; filled in by its issue.
export {};
