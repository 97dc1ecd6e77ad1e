import * as z from 'zod';
import { GpudevConfigSchema } from './config';

/** The JSON Schema the YAML extension validates `.gpudev.yaml` with (package.json `yamlValidation`). */
export function gpudevJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(GpudevConfigSchema, { target: 'draft-7' }),
    $id: 'https://gpudev.dev/schemas/gpudev.schema.json',
    title: '.gpudev.yaml',
  };
}
