/**
 * How an experiment runs `tmaml train`. The command line lives above this layer, so the CLI hands
 * experiments a runner instead of experiments importing it (the arrow points down only).
 *
 * @packageDocumentation
 */

/** A process to spawn: the executable and its arguments. */
export interface ChildCommand {
  readonly command: string
  readonly args: ReadonlyArray<string>
}

/**
 * `tmaml train <argv>` in this process (resolving to its exit code), and the command that runs
 * `tmaml <args>` in a fresh process (its own tfjs engine, MuJoCo module and core).
 *
 * @category model
 */
export interface TrainRunner {
  readonly inProcess: (argv: ReadonlyArray<string>) => Promise<number>
  readonly childCommand: (args: ReadonlyArray<string>) => ChildCommand
}
