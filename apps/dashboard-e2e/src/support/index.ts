export { test, expect, collectConsoleProblems, type ConsoleProblems } from './console.js';
export { ApiClient, unique } from './api.js';
export { loginAs, loginAsAdmin, logout, mainNav, currentScheme } from './ui.js';
