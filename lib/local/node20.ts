// What Node 20 lacks for the embedded host.
//
// aws-local-stepfunctions 3 declares Node >= 22; on Node 20 the only API it misses is
// Promise.withResolvers (measured, see shared/NOTES.md). Install it once, before the runner loads.
type Resolvers<T> = {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
};

const promiseWithStatics = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };
if (typeof promiseWithStatics.withResolvers !== 'function') {
  promiseWithStatics.withResolvers = <T>(): Resolvers<T> => {
    let resolve!: Resolvers<T>['resolve'];
    let reject!: Resolvers<T>['reject'];
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

// The AWS SDK warns at first use that releases after early 2027 need Node 22. Locally it only
// talks to dynalite, and the Lambda runtime is Node 22 (README), so the notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
