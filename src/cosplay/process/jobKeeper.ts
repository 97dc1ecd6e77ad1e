// The keeper of a process session inside a Slurm job: a job step of its own that waits while the session
// folder exists and, when Slurm signals the job's end (scancel, the time limit), runs the shim's
// session_end.py: the session's folders removed and its record taken out of the GPU's journal under the
// GPU's lock. Without python3 there, the session is an orphan at the next look, for cleanup.
import { sessionFolder } from './sessionFiles';

const KEEPER = [
  'journal=$1 gpu=$2 session=$3 folder=$4',
  'end() { python3 -I -S "$folder/shim/gpudev_shim/session_end.py" "$journal" "$gpu" "$session"; exit 0; }',
  'trap end TERM INT HUP',
  // A session stopped by hand takes its folder with it: the keeper then ends too.
  'while [ -d "$folder" ]; do sleep 5 & wait $!; done',
].join('\n');

export function keeperArgv(journalDir: string, gpuUuid: string, session: string): string[] {
  return ['sh', '-c', KEEPER, 'gpudev-keeper', journalDir, gpuUuid, session, sessionFolder(journalDir, session)];
}
