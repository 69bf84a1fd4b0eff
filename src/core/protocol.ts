/**
 * Version of the stage protocol (how policies' gates and wrappers, runners, scopes and Fails work
 * together). Copies of breakwater loaded in one process (its ESM and CJS builds) compose each other's
 * policies when they share it; bump it with any change a stage of another copy would notice.
 */
export const PROTOCOL = 2;
