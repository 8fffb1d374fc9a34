/**
 * What each command line of the guide gives when run as written against a farm (used by
 * guide-walk.e2e.test.ts), and the files the guide's lines name. A line of the guide with no
 * entry here fails the walk, so a change to the guide is a change here too.
 *
 * Where a line as written cannot succeed, the expectation is the honest error, as Joblet gives it:
 * - a job sees only the files it uploads (each job has its own fresh /work): `python analysis.py`
 *   without `--upload` ends with python's "can't open file" and exit 2, and rnx exits with the
 *   job's code; `java HelloWorld` in a new job finds no class compiled by an earlier one;
 * - the guide's apt-get lines run in the default runtime with the farm's default network
 *   (`isolated` here): apt-get without `-y` has no terminal to ask and aborts; Debian has no
 *   `python` command until python-is-python3 is installed, so the traditional approach ends with
 *   127 after pip installed everything;
 * - `--volume=datasets` before `rnx volume create datasets`, and `--volume=data --network=prod`
 *   that the guide never creates, are refused naming what is missing;
 * - python 3.12's upstream build (python-build-standalone) cannot be downloaded here, so the
 *   custom runtime example fails its build naming the download;
 * - `--cpu-cores="0-3"` on a node with fewer cores is refused at submit naming the field and the
 *   cores the nodes have.
 */
import { expect } from 'vitest';

export interface LineResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Check = (r: LineResult) => void;

/** The files the guide uploads or names, as a reader would have them. */
export const GUIDE_FILES: Record<string, string> = {
  'analysis.py':
    'import numpy, pandas, sklearn\n' +
    "print('analysis:', 'numpy', numpy.__version__, 'pandas', pandas.__version__, 'sklearn', sklearn.__version__)\n",
  'script.py': "print('script ran')\n",
  'experiment.py': "print('experiment ran')\n",
  'test.py': "print('test ran')\n",
  'training.py': "print('training ran')\n",
  'process_data.py': "print('processed')\n",
  'production.py': "print('production ran')\n",
  'HelloWorld.java':
    'public class HelloWorld {\n  public static void main(String[] a) {\n    System.out.println("Hello, World");\n  }\n}\n',
  'App.java':
    'public class App {\n  public static void main(String[] a) {\n    System.out.println("app");\n  }\n}\n',
};

/** The smallest spec that makes the guide's `--runtime=openjdk-21` lines true (amd64 only). */
export const OPENJDK_21 = `schema_version: "1.0"
name: openjdk-21
version: 1.0.0
description: OpenJDK 21 LTS for enterprise applications
base:
  language: java
  version: "21"
`;

const ok =
  (stdout?: RegExp, stderr?: RegExp): Check =>
  (r) => {
    if (stdout) expect(r.stdout).toMatch(stdout);
    if (stderr) expect(r.stderr).toMatch(stderr);
    expect(r.code).toBe(0);
  };

const fails =
  (code: number, output: RegExp): Check =>
  (r) => {
    expect(`${r.stdout}\n${r.stderr}`).toMatch(output);
    expect(r.code).toBe(code);
  };

/** A job without the file it names: python's own error, and rnx exits with the job's 2. */
const notUploaded = (file: string) => fails(2, new RegExp(`can't open file '/work/${file}'`));
const noClass = (cls: string) => fails(1, new RegExp(`Could not find or load main class ${cls}`));
const built = ok(undefined, /python-3\.11-ml@1\.0\.0/);
const listed = ok(/^python-3\.11-ml\s+1\.0\.0\s/m);
const info = ok(/python-3\.11-ml/);

const LINES: Record<string, Check> = {
  "rnx job run 'apt-get update && apt-get install python3-pip && pip install pandas numpy scikit-learn matplotlib && python analysis.py'":
    fails(1, /Do you want to continue\? \[Y\/n\] Abort\./),
  'rnx job run --runtime=python-3.11-ml python analysis.py': notUploaded('analysis.py'),
  'rnx job run --runtime=python-3.11-ml python3 -c "import pandas; print(\'Ready!\')"':
    ok(/^Ready!\n$/),
  'rnx job run --runtime=python-3.11-ml --upload=analysis.py python3 analysis.py': ok(
    /^analysis: numpy 1\.26\.4 pandas 2\.1\.3 sklearn 1\.3\.2\n$/,
  ),
  'rnx runtime info python-3.11-ml  # See all packages and details': ok(/numpy/),
  'rnx job run --runtime=python-3.11 python --version': ok(/^Python 3\.11\.\d+\n$/),
  'rnx job run --runtime=python-3.11 pip install requests': ok(
    /Requirement already satisfied: requests|Successfully installed requests/,
  ),
  'rnx job run --runtime=python-3.11 python script.py': notUploaded('script.py'),
  'rnx job run --runtime=openjdk-21 java -version': ok(undefined, /version "21/),
  'rnx job run --runtime=openjdk-21 --upload=HelloWorld.java javac HelloWorld.java': ok(),
  'rnx job run --runtime=openjdk-21 java HelloWorld': noClass('HelloWorld'),
  'rnx job run --runtime=openjdk-17 java -version': ok(undefined, /version "17/),
  'rnx job run --runtime=openjdk-17 --upload=App.java javac App.java': ok(),
  'rnx runtime validate ./runtime.yaml': ok(),
  'rnx runtime build ./runtime.yaml': ok(),
  'rnx runtime build -v ./runtime.yaml': ok(),
  'rnx runtime build --force ./runtime.yaml': ok(),
  'rnx runtime list': listed,
  'rnx runtime info python-3.11-ml': info,
  'rnx job run --runtime=python-3.11-ml true': ok(),
  'rnx runtime test python-3.11-ml': ok(/passed/i),
  'rnx job run --runtime=python-3.11-ml python --version': ok(/^Python 3\.11\.\d+\n$/),
  'RNX_SERVER=$host rnx runtime build ./runtime.yaml': ok(),
  'rnx runtime remove python-3.11-ml': ok(/python-3\.11-ml/),
  'rnx runtime remove python-3.11-ml@1.0.0': ok(/python-3\.11-ml/),
  'rnx runtime build ./examples/python-3.11-ml/runtime.yaml': built,
  'rnx runtime build ./examples/java-21/runtime.yaml': ok(),
  'rnx job run --runtime=python-3.11-ml --upload=script.py python script.py': ok(/^script ran\n$/),
  'rnx job run --runtime=java:17 --max-memory=2048 --max-cpu=50 java BigApplication':
    noClass('BigApplication'),
  'rnx job run --runtime=python-3.11-ml --volume=datasets --network=isolated python analysis.py':
    fails(1, /volume.*datasets.*rnx volume create/),
  'rnx job run --runtime=java:21 --schedule="1hour" java MaintenanceJob': ok(/^ID: /m),
  "rnx job run 'apt-get update && apt-get install -y python3-pip && pip install pandas numpy scikit-learn matplotlib seaborn && python analysis.py'":
    (r) => {
      expect(r.stdout).toMatch(/Successfully installed .*numpy-1\.26\.4/);
      fails(127, /python: command not found/)(r);
    },
  "rnx job run 'apt-get update && apt-get install -y openjdk-17-jdk maven && javac HelloWorld.java && java HelloWorld'":
    fails(2, /file not found: HelloWorld\.java/),
  'rnx job run --runtime=java:17 bash -c "javac HelloWorld.java && java HelloWorld"': fails(
    2,
    /file not found: HelloWorld\.java/,
  ),
  "rnx job run 'apt-get update && apt-get install -y default-jdk maven && mvn compile exec:java'":
    fails(1, /there is no POM in this directory/),
  'rnx job run --runtime=java:17 java Application': noClass('Application'),
  'rnx runtime info python-3.12-custom': fails(1, /python-3\.12-custom/),
  'rnx job run --runtime=python-3.11-ml --max-memory=2048 python analysis.py':
    notUploaded('analysis.py'),
  'rnx job run --runtime=python-3.11-ml --max-cpu=75 --cpu-cores="0-3" python training.py': fails(
    1,
    /cpuCores/,
  ),
  'rnx volume create datasets --size=10GB': ok(/datasets/),
  'rnx job run --runtime=python-3.11-ml --volume=datasets python process_data.py':
    notUploaded('process_data.py'),
  'rnx job run --runtime=python-3.11-ml --upload=experiment.py python experiment.py':
    ok(/^experiment ran\n$/),
  'rnx job run --runtime=python-3.11-ml --max-memory=512 --upload=test.py python test.py':
    ok(/^test ran\n$/),
  'rnx job run --runtime=python-3.11-ml --volume=data --network=prod python production.py': fails(
    1,
    /prod|data/,
  ),
  'rnx job run --runtime=python-3.11-ml python -c "import numpy; print(numpy.__version__)"':
    ok(/^1\.26\.4\n$/),
  'rnx job run --runtime=python-3.11-ml python -c "import sys; print(sys.executable)"':
    ok(/^\/usr\/bin\/python3?\n$/),
};

/**
 * Lines on ./runtime.yaml after the guide's second runtime.yaml (its "Quick Deployment" heredoc:
 * python-3.11-ml 1.0.0 again, without `environment`): a build of the same name and version from
 * other inputs is refused (409) until `--force` replaces it. After the third (python-3.12-custom):
 * python 3.12 is an upstream build (python-build-standalone) this machine cannot download.
 */
const DIFFERENT_INPUTS = fails(1, /already exists and was built from different inputs/);
const BY_SPEC: Record<number, Record<string, Check>> = {
  2: {
    'rnx runtime build ./runtime.yaml': DIFFERENT_INPUTS,
    'rnx runtime build -v ./runtime.yaml': DIFFERENT_INPUTS,
    'RNX_SERVER=$host rnx runtime build ./runtime.yaml': DIFFERENT_INPUTS,
  },
  3: {
    'rnx runtime build ./runtime.yaml': fails(1, /python-build-standalone|3\.12/),
  },
};

/**
 * The check of one guide line, given how many runtime.yaml files the guide has had the reader
 * write so far; undefined when the walk does not know the line.
 */
export function expectationFor(line: string, specsWritten: number): Check | undefined {
  return BY_SPEC[specsWritten]?.[line] ?? LINES[line];
}
