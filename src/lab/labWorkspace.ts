// What the lab gives VS Code: the User settings that point at it (gpuDev.hosts and gpuDev.clusters are
// read only from User settings) and the LAB.md walkthrough of the folder `npm start -- --lab` opens.
import { LAB_CLUSTER, LAB_HOST, type LabState } from './labState';

/** The settings entries for the lab's host and cluster, as far as they are up. */
export function labSettings(state: LabState): Record<string, unknown> {
  return {
    'gpuDev.hosts': state.sshd
      ? [{ name: LAB_HOST, ssh: LAB_HOST, simulated: true, ...(state.docker && { dockerSocket: state.docker.socket }) }]
      : [],
    'gpuDev.clusters': state.sshd && state.slurm ? [{ name: LAB_CLUSTER, scheduler: 'slurm', login: LAB_CLUSTER }] : [],
  };
}

const command = (id: string, title: string) => `[${title}](command:${id})`;

/** LAB.md: what the lab is, and the tour through it. */
export function labGuide(state: LabState): string {
  const parts = [
    `- **${LAB_HOST}**: ${state.sshd ? `an SSH host on 127.0.0.1:${state.sshd.port}` : 'not running'} with eight simulated H100 80GB GPUs`,
    `- **Docker Engine**: ${state.docker ? `its own socket \`${state.docker.socket}\`, the local image \`${state.docker.image}\`` : 'not running'}`,
    `- **${LAB_CLUSTER}**: ${state.slurm ? `a one-node Slurm cluster (node \`${state.slurm.node}\`, typed GPUs h100, a100, l4)` : 'not running'}`,
  ];
  return `# The GPU Dev Environments lab

Everything here is a **simulation** on this machine, which has no NVIDIA GPU: the GPUs are the project's
\`nvidia-smi\` stand-in replaying what a real 8×H100 server printed, and nothing you do here touches a GPU.
Numbers the lab shows (benchmarks, fidelity) are not measurements of any GPU.

${parts.join('\n')}
${state.missing.length ? `\nNot running:\n\n${state.missing.map((m) => `- ${m}`).join('\n')}\n` : ''}
## A tour

1. **See the GPUs**: the **GPU** icon in the activity bar; open **${LAB_HOST}** (${command('gpuDev.refresh', 'Refresh')}).
   GPU rows show memory and utilisation; some are busy with another user's processes, as on a shared server.
2. **Plan a cosplay**: right-click a GPU of ${LAB_HOST} → **Cosplay as…**, pick RTX 3090
   (${command('gpuDev.cosplayAs', 'Cosplay as…')}). The plan says what would change on the host, and how.
3. **Apply and verify**: **Apply** in the plan panel, then **Verify** on the session; the checks appear in
   the Test Explorer. **Stop** puts the simulated GPU back as it was.
4. **Reserve on Slurm**: ${command('gpuDev.reserveGpus', 'Reserve GPUs…')} on ${LAB_CLUSTER}: Dry Run ranks every way to
   get the GPUs; Submit holds them in a job shown in the **Reservations** view.
5. **Attach**: a running reservation → **Attach** opens a terminal (or a Remote-SSH window) on the node.

From a terminal: \`gpudev gpus --host ${LAB_HOST}\`, \`gpudev reserve plan --login ${LAB_CLUSTER} --gpu h100\`,
\`gpudev lab status\`, and \`gpudev lab down\` to stop everything the lab started.
`;
}
