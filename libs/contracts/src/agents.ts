// Owned by the agents domain; filled in by its issue.
export {};
