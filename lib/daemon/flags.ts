/**
 * The `serve` command line, parsed by commander from the option table: one
 * `--flag VALUE` (or `--flag=VALUE`) per option, `--media-root` repeatable,
 * plus --config/-c, --dry-run and --help/-h. A mistyped flag is refused with
 * commander's suggestion of the closest one.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, OPTIONS, type OptionSpec } from './options';

/** Flags that take no value. */
export const SWITCHES = ['--help', '--dry-run'];

export interface ParsedFlags {
  /** Option values in the table's order; a repeated flag's values as a list. */
  values: [OptionSpec, string | string[]][];
  file?: string;
  switches: Set<string>;
}

function serveCommand(): Command {
  const cmd = new Command('serve')
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .helpOption(false)
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
  cmd.addOption(new Option('-c, --config <FILE>'));
  cmd.addOption(new Option('--dry-run'));
  cmd.addOption(new Option('-h, --help'));
  for (const o of OPTIONS) {
    const opt = new Option(`${o.flag} <${o.arg}>`, o.help);
    if (o.repeat) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(opt);
  }
  return cmd;
}

/** The command-line words after `serve`. Throws ConfigError with today's wording (plus a suggestion). */
export function parseFlags(argv: string[]): ParsedFlags {
  const cmd = serveCommand();
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    const suggestion = /\(Did you mean (\S+?)\?\)/.exec(err.message)?.[1];
    const quoted = /'([^']+)'/.exec(err.message)?.[1] ?? '';
    if (err.code === 'commander.unknownOption')
      throw new ConfigError(
        `unknown option ${JSON.stringify(quoted)}${suggestion ? `; did you mean ${suggestion}?` : ''} (see --help)`,
      );
    if (err.code === 'commander.optionMissingArgument')
      throw new ConfigError(`${quoted.split(/[ ,]/).find((w) => w.startsWith('--')) ?? quoted} needs a value`);
    if (err.code === 'commander.excessArguments')
      throw new ConfigError(`unexpected argument ${JSON.stringify(cmd.args[0] ?? '')} (see --help)`);
    throw new ConfigError(err.message.replace(/^error: /, ''));
  }
  const opts = cmd.opts();
  const switches = new Set<string>();
  if (opts.help) switches.add('--help');
  if (opts.dryRun) switches.add('--dry-run');
  const values: [OptionSpec, string | string[]][] = [];
  for (const o of OPTIONS) {
    const name = new Option(`${o.flag} <x>`).attributeName();
    if (cmd.getOptionValueSource(name) === 'cli') values.push([o, opts[name] as string | string[]]);
  }
  return { values, file: opts.config as string | undefined, switches };
}
