export declare const USAGE: string;
export declare function readArgs(args: string[]): { help: true } | { error: string } | { reset: boolean };
