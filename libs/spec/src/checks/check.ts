/** A content check: the error message for a bad value, or undefined when the value is fine. */
export type Check = (value: string) => string | undefined;
