/** One problem in a config: where (a dotted path) and what. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * The only error config loading throws. `lines()` gives one `path  message` line per problem,
 * which is what the CLI prints; nothing in the kernel has been touched when this is thrown.
 */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  readonly source: string;

  constructor(issues: readonly ConfigIssue[], source = 'config') {
    super(`${source}: ${issues.length} problem(s)\n${issues.map(formatIssue).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
    this.source = source;
  }

  lines(): string[] {
    return this.issues.map(formatIssue);
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.path || '(root)'}  ${issue.message}`;
}

export function pathOf(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}
