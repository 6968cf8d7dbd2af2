/** The parts of Render's API (render-openapi.json) that deploy-render uses. */
export type DeployStatus =
  | 'created'
  | 'queued'
  | 'build_in_progress'
  | 'update_in_progress'
  | 'live'
  | 'deactivated'
  | 'build_failed'
  | 'update_failed'
  | 'canceled'
  | 'pre_deploy_in_progress'
  | 'pre_deploy_failed';

export interface Deploy {
  id: string;
  commit?: { id?: string; message?: string; createdAt?: string } | null;
  image?: { ref?: string; sha?: string } | null;
  status?: DeployStatus;
  trigger?: string;
  createdAt?: string;
  updatedAt?: string;
  finishedAt?: string;
}

export interface Service {
  id: string;
  name: string;
  suspended: 'suspended' | 'not_suspended' | string;
  dashboardUrl: string;
  serviceDetails?: { url?: string; numInstances?: number } & Record<string, unknown>;
  type?: string;
}

export const FAILED: ReadonlySet<string> = new Set(['build_failed', 'update_failed', 'pre_deploy_failed']);
export const ENDED: ReadonlySet<string> = new Set(['live', 'deactivated', 'canceled', ...FAILED]);
