// Owned by the alerts domain; filled in by its issue.
export {};
