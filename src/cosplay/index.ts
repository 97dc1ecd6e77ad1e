// The cosplay module as the extension loads it: a separate bundle (dist/cosplay.js), required on
// first use so that the catalog (yaml + zod) costs nothing at activation.
export { builtinCatalog } from '../catalog/catalog';
export type { GpuEntry } from '../catalog/schema';
export { busyNote, processesOnGpu } from './busyGpu';
export { migStateOf } from './hostCommands';
export { planCosplay } from './planner';
export { planView } from './planView';
export { simulatedNote } from '../hosts/sshHosts';
export type { CosplayPlan } from './planner';
export { planMultiCosplay } from './multiPlan';
export type { GpuSlot, PlannedGpu } from './multiPlan';
export { probeHostModel, withHostMigProfiles } from './hostModelProbe';
export { hostModelNotes, withPlanNotes } from './unknownHost';
