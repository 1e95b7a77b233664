"""Starts moto's server with corrections to its authorisation checks, so they match AWS.

1. moto evaluates a trust policy's `sts:ExternalId` condition only when the AssumeRole request
   carries an external id. AWS treats a condition key absent from the request as a failed
   match, so a role whose trust policy requires an external id cannot be assumed without one.
   Trailport refuses roles that can be assumed without the external id, so it needs AWS's rule.
2. moto lets anyone with sts:AssumeRole permission assume a role that does not exist; AWS
   refuses with AccessDenied.
3. moto ignores trust-policy operators other than StringEquals. StringLike (with IAM's `*`
   and `?` wildcards) is added, so a trust policy that accepts any external id behaves as on
   AWS.
4. moto serves an object encrypted with SSE-KMS to anyone allowed s3:GetObject. AWS also
   requires kms:Decrypt on the object's key, and refuses with an AccessDenied that names
   kms:Decrypt; that check is added for GetObject.
5. DynamoDB applies each write to an item as one step: its condition is checked and its update
   made together. moto's server handles requests on several threads and applies writes without
   a lock, so two concurrent increments of one counter can both read the same value. Its item
   reads and writes are serialised here, as DynamoDB's are per item.

After patching, it runs moto's own server entry point with the arguments it was given.
"""

import functools
import re
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.iam import access_control, policy_conditions
from moto.iam.exceptions import NotFoundException
from moto.s3.exceptions import S3ClientError
from moto.s3.models import s3_backends
from moto.server import main


def _verify_condition(self, actual_values):
    operation = policy_conditions.CONDITION_OPERATIONS.get(self._condition)
    if operation is None:
        # moto ignores operators it does not implement; keep that behaviour.
        return True
    if len(actual_values) != len(self._expected_value):
        return False
    return all(
        operation(expected, actual)
        for expected, actual in zip(self._expected_value, actual_values)
    )


_original_trust_check = access_control.IAMRequestBase._check_role_trust_relationship


def _is_assuming_role_operation(self, resource_arn):
    return (
        ":role" in resource_arn.lower()
        and self._action in access_control.REQUIRE_RESOURCE_ACCESS_POLICIES_CHECK
    )


def _check_role_trust_relationship(self, role_arn):
    try:
        self.backend.get_role_by_arn(role_arn)
    except NotFoundException:
        return False
    return _original_trust_check(self, role_arn)


def _string_like(expected, actual):
    patterns = expected if isinstance(expected, list) else [expected]
    return any(
        re.fullmatch(re.escape(p).replace(r"\*", ".*").replace(r"\?", "."), actual, re.DOTALL)
        for p in patterns
    )


_original_s3_check = access_control.S3IAMRequest.check_action_permitted


def _s3_check_with_kms(self, resource):
    _original_s3_check(self, resource)
    if self._action != "s3:GetObject" or ":::" not in resource:
        return
    bucket, _, key_name = resource.split(":::", 1)[1].partition("/")
    try:
        stored = s3_backends[self.account_id]["aws"].get_object(bucket, key_name)
    except Exception:
        return  # a missing bucket or key is reported by the request itself
    if stored is None or stored.encryption != "aws:kms" or not stored.kms_key_id:
        return
    results = [
        access_control.IAMPolicy(policy).is_action_permitted("kms:Decrypt", stored.kms_key_id)
        for policy in self._access_key.collect_policies()
    ]
    denied = access_control.PermissionResult.DENIED in results
    if denied or access_control.PermissionResult.PERMITTED not in results:
        raise S3ClientError(
            "AccessDenied",
            f"User: {self._access_key.arn} is not authorized to perform: kms:Decrypt on the "
            "resource associated with this ciphertext because no identity-based policy allows "
            "the kms:Decrypt action",
        )


access_control.S3IAMRequest.check_action_permitted = _s3_check_with_kms

_dynamodb_lock = threading.RLock()


def _serialised(method):
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with _dynamodb_lock:
            return method(self, *args, **kwargs)

    return locked


for _name in ("get_item", "put_item", "update_item", "delete_item", "transact_write_items",
              "batch_write_item"):
    setattr(DynamoDBBackend, _name, _serialised(getattr(DynamoDBBackend, _name)))
policy_conditions.CONDITION_OPERATIONS["StringLike"] = _string_like
policy_conditions.TrustCondition.verify_condition = _verify_condition
access_control.IAMRequestBase._is_assuming_role_operation = _is_assuming_role_operation
access_control.IAMRequestBase._check_role_trust_relationship = _check_role_trust_relationship

if __name__ == "__main__":
    main(sys.argv[1:])
