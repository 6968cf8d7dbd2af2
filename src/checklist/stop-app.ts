/**
 * The app stopped while its database is put back (guide 000 "Database Recovery", guide 002 "Scenario 1": stop the
 * application, restore, verify, resume): the Render service is suspended around the work and resumed after it,
 * whether the work succeeded or not. When the service cannot be suspended, the work does not run.
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RenderClient } from '../render/client.js';

export function suspendedDuring(client: RenderClient, serviceId: string, logger: Logger) {
  return async <T>(work: () => Promise<T>): Promise<T> => {
    logger.info(`suspending Render service ${serviceId} while the database is put back`);
    await client.serviceAction(serviceId, 'suspend');
    try {
      return await work();
    } finally {
      await client.serviceAction(serviceId, 'resume').then(
        () => logger.info(`resumed Render service ${serviceId}`),
        (err) => logger.error(`could not resume Render service ${serviceId} (${errorMessage(err)}): resume it by hand`),
      );
    }
  };
}
