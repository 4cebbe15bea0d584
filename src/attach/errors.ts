/** A failure the user can act on: its message is printed as it is, without a stack. */
export class AttachError extends Error {}
