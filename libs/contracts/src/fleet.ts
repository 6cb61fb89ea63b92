// Owned by the fleet domain; filled in by its issue.
export {};
